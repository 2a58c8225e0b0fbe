"""explorers.common.api: gr.api with every parameter and the result named and described from the function's
docstring, and an endpoint whose docstring leaves a parameter undescribed refused when the app is built.
explorers.common.Box: a number box reads what was typed into its range, and names itself, its range and the value
used when it had to change it."""
import warnings
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from explorers import common
from explorers.common import COMMIT_ON_ENTER, Box, api


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
        api(documented, "add", example={"a": 2})
    info = demo.get_api_info()["named_endpoints"]["/add"]
    # the API page's snippet: a's example (gr.api's own is "..."), b's default
    assert [(p["parameter_has_default"], p["example_input"]) for p in info["parameters"]] == [(False, 2), (True, 1.0)]
    assert info["description"] == "Add two numbers."
    assert [(p["label"], p["parameter_name"], p["python_type"]["description"]) for p in info["parameters"]] == [
        ("a", "a", "the first number, a whole number"), ("b", "b", "the second number")]
    assert [r["python_type"]["description"] for r in info["returns"]] == ['A dict: "sum", a + b.']


def test_api_refuses_a_parameter_without_a_default_or_an_example():
    """The API page's snippet would show it as "...", which does not run; an example for a parameter with a default
    would never be shown."""
    with gr.Blocks(), pytest.raises(TypeError, match=r"documented: give an example .* \(missing: a\).*not none"):
        api(documented, "add")
    with gr.Blocks(), pytest.raises(TypeError, match=r"\(missing: none\).*not b\)"):
        api(documented, "add", example={"a": 2, "b": 3.0})


def test_api_refuses_a_parameter_the_docstring_leaves_out():
    with gr.Blocks(), pytest.raises(TypeError, match=r"half_documented's docstring .* \(missing: b\)"):
        api(half_documented, "half")


# ---------------------------------------------------------------- number boxes


def read(box: Box, value, **kwargs):
    """box.read(value), and the warnings it gave (gr.Warning outside an event is a Python warning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reading = box.read(value, **kwargs)
    return reading, [str(w.message) for w in caught]


PATCH = Box("Patch", 0, None, 5, label="Patch (or click the patch grid)")
TEMPERATURE = Box("Softmax temperature T", 0.1, 10, 1.0, whole=False)


@pytest.mark.parametrize("value, used, message", [
    (-1, 0, "Patch takes whole numbers from 0 to 15: -1 is too small, so 0 is used."),
    (99999, 15, "Patch takes whole numbers from 0 to 15: 99999 is too large, so 15 is used."),
    (20, 15, "Patch takes whole numbers from 0 to 15: 20 is too large, so 15 is used."),
    (float("inf"), 15, "Patch takes whole numbers from 0 to 15: inf is too large, so 15 is used."),
    (10 ** 400, 15, "Patch takes whole numbers from 0 to 15: a whole number of 401 digits is too large, so 15 is "
                    "used."),
    (2.5, 3, "Patch takes whole numbers from 0 to 15: 2.5 is not a whole number, so 3 is used."),
    (3.2, 3, "Patch takes whole numbers from 0 to 15: 3.2 is not a whole number, so 3 is used."),
])
def test_a_box_clamps_and_rounds_and_says_so_naming_itself(value, used, message):
    reading, said = read(PATCH, value, hi=15)
    assert reading.value == used and isinstance(reading.value, int)
    assert said == [message]
    assert reading.shown == used and reading.update(visible=True) == {"__type__": "update", "visible": True,
                                                                      "value": used}


@pytest.mark.parametrize("value", [None, float("nan"), "abc", "7", True, [7]])
def test_a_box_holding_no_number_falls_back_to_its_default(value):
    reading, said = read(PATCH, value, hi=15)
    assert reading.value == 5 and reading.shown == 5
    assert said == ["Patch takes whole numbers from 0 to 15: the box holds no number, so 5 is used."]


def test_the_default_is_kept_within_the_range_and_none_means_the_last():
    assert read(PATCH, None, hi=3) == ((3, True), [
        "Patch takes whole numbers from 0 to 3: the box holds no number, so 3 is used."])
    last = Box("Layer", 0, None, None)
    assert read(last, None, hi=11)[0].value == 11 and read(last, None, hi=11, default=4)[0].value == 4


def test_a_value_in_range_is_used_as_it_is_without_a_word():
    for box, value in [(PATCH, 7), (PATCH, 7.0), (PATCH, 0), (PATCH, 15), (TEMPERATURE, 2.35), (TEMPERATURE, 10)]:
        reading, said = read(box, value, hi=15)
        assert reading.value == value and said == [] and not reading.changed
        assert reading.shown == gr.skip() and reading.update() == gr.skip()  # the box shows it already


def test_a_number_box_of_any_number_keeps_fractions_and_names_its_range():
    reading, said = read(TEMPERATURE, 0.05)
    assert reading.value == 0.1 and said == [
        "Softmax temperature T takes numbers from 0.1 to 10: 0.05 is too small, so 0.1 is used."]
    assert read(TEMPERATURE, 99999)[1] == [
        "Softmax temperature T takes numbers from 0.1 to 10: 99999 is too large, so 10 is used."]


def test_box_components_hand_the_handler_what_was_typed_and_draw_gradios_own():
    """gr.Number and gr.Slider refuse an out-of-range value ("Value -1 is less than minimum value 0.") before the
    handler runs; the components Box makes pass it on, for Box.read, and the page draws gradio's own components."""
    stride = Box("Stride", 1, 8, 1)
    with gr.Blocks() as demo:
        slider = stride.slider(elem_id="stride")
        number = PATCH.number(hi=15, elem_id="patch")
        stride.slider(elem_id="another")
    with pytest.raises(gr.Error, match="less than minimum"):
        gr.Slider(1, 8).preprocess(-1)
    assert slider.preprocess(-1) == -1 and slider.preprocess(None) is None and number.preprocess(99999) == 99999
    components = {c["props"].get("elem_id"): c for c in demo.config["components"]}
    assert components["stride"]["type"] == "slider" and components["patch"]["type"] == "number"
    assert (components["stride"]["props"]["minimum"], components["stride"]["props"]["maximum"]) == (1, 8)
    assert components["patch"]["props"]["label"] == "Patch (or click the patch grid)"
    assert components["patch"]["props"]["value"] == 5 and components["stride"]["props"]["value"] == 1
    enter = [d for d in demo.config["dependencies"] if d.get("js") == COMMIT_ON_ENTER]
    assert len(enter) == 1 and enter[0]["targets"][0][1] == "load"  # one page script, however many sliders
    # gradio's ComponentMeta writes a .pyi stub beside a module defining a component class; not for these
    assert not Path(common.__file__).with_suffix(".pyi").exists()


def test_packed_arrays_round_trip_as_the_browser_reads_them():
    """widgets.packed: the bytes in base64 are the array's own, in the dtype asked for, with its shape."""
    import base64

    from explorers.widgets import packed
    a = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    p = packed(a)
    assert p["dtype"] == "float32" and p["shape"] == [3, 4]
    back = np.frombuffer(base64.b64decode(p["data"]), dtype=np.float32).reshape(p["shape"])
    np.testing.assert_array_equal(back, a.astype(np.float32))
    assert packed(np.array([0, 255, 7]), "uint8")["data"] == base64.b64encode(bytes([0, 255, 7])).decode()
