"""explorers.common.api: gr.api with every parameter and the result named and described from the function's
docstring, and an endpoint whose docstring leaves a parameter undescribed refused when the app is built."""
import gradio as gr
import pytest

from explorers.common import api


def documented(a: int, b: float = 1.0) -> dict:
    """Add two numbers.

    Parameters:
        a: the first number, a whole number
        b: the second number

    Returns:
        A dict: "sum", a + b."""
    return {"sum": a + b}


def half_documented(a: int, b: float = 1.0) -> dict:
    """Add two numbers.

    Parameters:
        a: the first number, a whole number

    Returns:
        A dict: "sum", a + b."""
    return {"sum": a + b}


def test_api_names_and_describes_the_parameters_and_the_result():
    with gr.Blocks() as demo:
        api(documented, "add")
    info = demo.get_api_info()["named_endpoints"]["/add"]
    assert info["description"] == "Add two numbers."
    assert [(p["label"], p["parameter_name"], p["python_type"]["description"]) for p in info["parameters"]] == [
        ("a", "a", "the first number, a whole number"), ("b", "b", "the second number")]
    assert [r["python_type"]["description"] for r in info["returns"]] == ['A dict: "sum", a + b.']


def test_api_refuses_a_parameter_the_docstring_leaves_out():
    with gr.Blocks():
        with pytest.raises(TypeError, match=r"half_documented's docstring .* \(missing: b\)"):
            api(half_documented, "half")
