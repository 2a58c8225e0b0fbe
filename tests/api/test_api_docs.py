"""The "Use via API" page, read from the real server's /gradio_api/info: every public endpoint says what it does,
names each parameter by its own name (not gr.api's "1st", "2nd") with what it means, and says what it returns.
explorers.common.api fills these in from each endpoint function's docstring; an endpoint added with a bare gr.api,
or by a tab added later, fails here by name."""
import httpx
import pytest

KNOWN = {"conv_arithmetic", "conv_pool", "conv_kernel", "conv_layers", "conv_features", "conv_predict",
         "conv_gradcam", "attention_text", "attention_scores", "attention_image"}


@pytest.fixture(scope="module")
def endpoints(server_url) -> dict:
    """Every public named endpoint the server reports, by name without the leading slash."""
    r = httpx.get(f"{server_url}/gradio_api/info", timeout=30)
    r.raise_for_status()
    return {name.lstrip("/"): info for name, info in r.json()["named_endpoints"].items()
            if info.get("api_visibility", "public") == "public"}


def test_the_known_endpoints_are_listed(endpoints):
    missing = sorted(KNOWN - set(endpoints))
    assert not missing, f"/gradio_api/info does not list {', '.join(missing)}; it lists {sorted(endpoints)}"


def test_every_endpoint_is_described(endpoints):
    bare = [name for name, info in endpoints.items() if not info.get("description", "").strip()]
    assert not bare, f"endpoints without a description: {', '.join(bare)}"


def test_every_parameter_is_named_and_described(endpoints):
    problems = []
    for name, info in endpoints.items():
        for p in info["parameters"]:
            param = p["parameter_name"]
            if p["label"] != param:
                problems.append(f"{name}: parameter {param} is labelled {p['label']!r}, not {param!r}")
            if not p["python_type"].get("description", "").strip():
                problems.append(f"{name}: parameter {param} has no description")
    assert not problems, "\n".join(problems)


def test_every_result_is_described(endpoints):
    problems = [f"{name}: return value {i} ({r['label']!r}) has no description"
                for name, info in endpoints.items() for i, r in enumerate(info["returns"])
                if not r["python_type"].get("description", "").strip()]
    missing = [name for name, info in endpoints.items() if not info["returns"]]
    assert not problems and not missing, "\n".join(problems + [f"{name}: no return value" for name in missing])


def snippet_value(p: dict, local_image: str):
    """The value the page's snippets send for a parameter: its default, or else its example; an example file (a
    public URL, which this offline test machine cannot fetch) becomes the same kind of file from disk."""
    from gradio_client import handle_file
    value = p["parameter_default"] if p["parameter_has_default"] else p["example_input"]
    return handle_file(local_image) if isinstance(value, dict) and value.get("meta") else value


def test_every_endpoints_snippet_values_run(endpoints, client):
    """The snippets were `matrix=...`, `image=...`: placeholders that do not run. Every endpoint is now called with
    exactly the values its snippet shows (its defaults and examples) and answers with a result; gan_2d_frames's
    token only comes from a page's play, so its example is refused with that endpoint's own one-line message."""
    from gradio_client.exceptions import AppError

    from core.data import ASSETS
    from explorers.gan.points import EXPIRED
    image = str(ASSETS / "photos" / "chelsea.jpg")
    problems = []
    for name, info in sorted(endpoints.items()):
        snippet = info["code_snippets"]["python"] if "code_snippets" in info else ""
        assert "=...," not in snippet
        args = {p["parameter_name"]: snippet_value(p, image) for p in info["parameters"]}
        if any(v == "..." for v in args.values()):
            problems.append(f"{name}: a placeholder '...' in {sorted(k for k, v in args.items() if v == '...')}")
            continue
        try:
            job = client.submit(**args, api_name=f"/{name}")
            result = job.result(timeout=600)
        except AppError as e:
            if not (name == "gan_2d_frames" and EXPIRED[:40] in str(e)):
                problems.append(f"{name}: {e}")
            continue
        if not isinstance(result, dict) or not result:
            problems.append(f"{name}: no result ({result!r:.80})")
    assert not problems, "\n".join(problems)
