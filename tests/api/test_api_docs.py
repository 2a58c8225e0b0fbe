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
