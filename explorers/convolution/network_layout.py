"""The trained-network section's components and their events: `layout` lays the section out, in the order the page
shows it, and returns its components; `wire` connects them to the handlers in explorers.convolution.network; `build`
does both and registers the four conv_* endpoints.
"""
from pathlib import Path
from typing import NamedTuple

import gradio as gr

from core.convolution import vision_models
from explorers.common import LATEX, api, explain, outputs, page_script
from explorers.convolution import network_api
from explorers.convolution.network import (
    CHANNEL,
    NORMALIZE_CHOICES,
    OPACITY,
    PREDICTED,
    SHOW_CHOICES,
    TEMPERATURE,
    TOP_K,
    CamViews,
    DrawnViews,
    LayerViews,
    ModelViews,
    OverviewViews,
    PickViews,
    PredictionViews,
    SectionViews,
    channel_ui,
    drawn_pick,
    drawn_ui,
    gradcam_ui,
    layer_rows,
    layer_ui,
    model_choices,
    model_markdown,
    model_ui,
    overview_ui,
    pick_from_grid,
    predict_ui,
    section_views,
    target_choices,
)
from explorers.inputs import InputColumn, gallery_indices, input_column, sample_image
from explorers.path import Step, path
from explorers.widgets import panels, widget

HERE = Path(__file__).parent

EXPLAIN = explain("cnn")
TO_LAYER = page_script(HERE / "to_layer.js")


class Components(NamedTuple):
    """Every component the section's events read or write; the views' field names pick their outputs from these."""
    column: InputColumn
    seen: gr.Image
    seen_note: gr.Markdown
    model: gr.Dropdown
    model_note: gr.Markdown
    temperature: gr.Slider
    prediction: gr.HTML
    prediction_note: gr.Markdown
    layer: gr.Dropdown
    show: gr.Radio
    top_k: gr.Slider
    picks: gr.Textbox
    normalize: gr.Radio
    grid: gr.Image
    grid_note: gr.Markdown
    kernels: gr.HTML
    channel: gr.Number
    channel_plot: gr.HTML
    channel_note: gr.Markdown
    cell_plot: gr.HTML
    cell_note: gr.Markdown
    grid_info: gr.State
    maps_hover: gr.HTML
    overview: gr.Image
    table: gr.Dataframe
    cam_on: gr.Checkbox
    target: gr.Dropdown
    opacity: gr.Slider
    cam_image: gr.Image
    cam_note: gr.Markdown


def _first_screen(vm: vision_models.ConvNet, first, start: SectionViews) -> dict:
    """CNN Explainer's first screen: the drawing pad beside the layer overview, the prediction under it; then the
    input and what the model sees, which follow the pad at 800 px only after the overview."""
    path("cnn-path", "The overview follows the input through the CNN: each layer's most active feature map, drawn "
         "to scale, then the classifier's scores and the softmax's probabilities. Draw on the pad: each stroke, "
         "once the pen lifts, becomes the input.",
         [Step("Draw a garment", "cnn-draw"), Step("Read the prediction", "cnn-prediction"),
          Step("Click a layer", "cnn-overview"), Step("Its feature maps", "cnn-feature-grid"),
          Step("One cell's sum", "cnn-cell-plot"), Step("Where it looks: Grad-CAM", "cnn-gradcam-on")],
         picture="cnn-overview", control="cnn-draw")
    with gr.Row(equal_height=False):
        # 470 px, no more: the pad and its live views side by side (stacked, they were too tall for a 900-px
        # screen), and the rest of the width for the overview.
        with gr.Column(scale=0, min_width=470):
            # The pad opens first, as the tab's main control; four columns, since five of gradio's 100-px
            # thumbnails overflow 470 px; the input box goes below the overview: between the pad and the
            # overview it pushed the overview off an 800-px screen.
            column = input_column(first, "cnn", pad=lambda: widget(HERE / "drawing", "cnn-draw",
                                                                   colormaps=("RdBu_r",)), read_pad=drawn_pick,
                                  opens_on="draw", image_here=False)
        with gr.Column(scale=3, min_width=480):
            overview = gr.Image(start.overview, type="pil", format="png", interactive=False,
                                label="Layer overview", elem_id="cnn-overview")
            gr.Markdown("One map per layer (its most active channel), to scale: space shrinks while channels grow. "
                        "Then the classifier's logits (red positive, blue negative) and the softmax's probabilities "
                        "(the prediction in green).", elem_id="cnn-overview-caption")
            with gr.Row(equal_height=False):
                with gr.Column(scale=0, min_width=410):  # the bars' 400 px
                    prediction = widget(HERE / "prediction", "cnn-prediction", start.prediction)
                    prediction_note = gr.Markdown(start.prediction_note, elem_id="cnn-prediction-note")
                # 290 px: the model's name whole beside its arrow; at 800 px it goes under the bars
                with gr.Column(scale=1, min_width=290):
                    model = gr.Dropdown(model_choices(), value=vm.name, label="Model", elem_id="cnn-model")
                    model_note = gr.Markdown(model_markdown(vm, None), elem_id="cnn-model-note")
                    temperature = TEMPERATURE.slider(step=0.1, elem_id="cnn-temperature")
    with gr.Row(equal_height=False):
        # 360 px: at 800 px the two stack, and the input's long label is not cut by its buttons
        with gr.Column(scale=1, min_width=360):
            column.image.render()
            column.note.render()
        with gr.Column(scale=1, min_width=360):
            seen = gr.Image(start.seen, type="pil", format="png", height=224, interactive=False,
                            label="What the model sees", elem_id="cnn-seen")
            seen_note = gr.Markdown(start.seen_note, elem_id="cnn-seen-note")
    return {"column": column, "seen": seen, "seen_note": seen_note, "model": model, "model_note": model_note,
            "temperature": temperature, "prediction": prediction, "prediction_note": prediction_note,
            "overview": overview}


def _maps_and_kernels(vm: vision_models.ConvNet, start: SectionViews) -> dict:
    gr.Markdown("### Feature maps and kernels", elem_id="cnn-maps-title")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            layer = gr.Dropdown([entry.name for entry in vm.layers], value=vm.default_layer, label="Layer",
                                elem_id="cnn-layer")
            show = gr.Radio(SHOW_CHOICES, value="top", label="Show", elem_id="cnn-show")
            top_k = TOP_K.slider(elem_id="cnn-top-k")
            picks = gr.Textbox(label="Pick channels (with 'pick channels')", placeholder="e.g. 0, 5, 12",
                               elem_id="cnn-picks")
            normalize = gr.Radio(NORMALIZE_CHOICES, value="map", label="Colour normalisation",
                                 elem_id="cnn-normalize")
        with gr.Column(scale=3, min_width=520):
            grid = gr.Image(start.grid, type="pil", format="png", interactive=False,
                            label="Feature maps (click one)", show_label=False,  # the label hid the grid's header
                            elem_id="cnn-feature-grid")
            maps_hover = widget(HERE / "maps", "cnn-maps", start.maps_hover)
            grid_note = gr.Markdown(start.grid_note, elem_id="cnn-feature-note")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=420):
            kernels = panels("cnn-kernels", start.kernels)
            gr.Markdown("The filters that made the maps above, in the same order. A filter on one input channel (the "
                        "cnn's conv1) shows its weights: red adds the pixel under it, blue subtracts it, so it answers "
                        "most where the input looks like it. On RGB, each colour's weights; on more channels, how much "
                        "weight each position carries over all of them.", elem_id="cnn-kernels-note")
        with gr.Column(scale=3, min_width=520):
            channel = CHANNEL.number(start.channel, elem_id="cnn-channel")
            channel_plot = panels("cnn-channel-plot", start.channel_plot)
            channel_note = gr.Markdown(start.channel_note, elem_id="cnn-channel-note")
    return {"layer": layer, "show": show, "top_k": top_k, "picks": picks, "normalize": normalize, "grid": grid,
            "grid_note": grid_note, "maps_hover": maps_hover, "kernels": kernels, "channel": channel,
            "channel_plot": channel_plot, "channel_note": channel_note}


def _cell_and_table(vm: vision_models.ConvNet, start: SectionViews) -> dict:
    gr.Markdown("### One cell's arithmetic\nWhere one number of a feature map comes from: click any map above "
                "(or type a channel) and the cell under the click is recomputed from the layer's recorded input.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=520):
            cell_plot = panels("cnn-cell-plot", start.cell_plot)
        with gr.Column(scale=2, min_width=320):
            cell_note = gr.Markdown(start.cell_note, elem_id="cnn-cell-note")
    grid_info = gr.State(start.grid_info)
    with gr.Accordion("Every layer: output shape and parameters", open=False):
        table = gr.Dataframe(layer_rows(vm), headers=["layer", "kind", "output C×H×W", "parameters", "counted as"],
                             interactive=False, elem_id="cnn-layer-table")
    return {"cell_plot": cell_plot, "cell_note": cell_note, "grid_info": grid_info, "table": table}


def _gradcam(vm: vision_models.ConvNet) -> dict:
    gr.Markdown("### Grad-CAM: where the evidence comes from")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            cam_on = gr.Checkbox(False, label="Show Grad-CAM", elem_id="cnn-gradcam-on")
            target = gr.Dropdown(target_choices(vm), value=PREDICTED, label="Class", elem_id="cnn-gradcam-target")
            opacity = OPACITY.slider(step=0.05, elem_id="cnn-gradcam-opacity")
        with gr.Column(scale=2, min_width=420):
            cam_image = gr.Image(type="pil", format="png", visible=False, interactive=False, height=300,
                                 label="Grad-CAM overlay", elem_id="cnn-gradcam")
            cam_note = gr.Markdown(elem_id="cnn-gradcam-note")
    return {"cam_on": cam_on, "target": target, "opacity": opacity, "cam_image": cam_image, "cam_note": cam_note}


def layout() -> Components:
    """The section, opening on the bundled cnn and the gallery's first sample, every view already computed."""
    vm = vision_models.load(vision_models.BUNDLED)
    first = sample_image(gallery_indices()[0])
    start = section_views(first, vm.name, vm.default_layer, "top", 16, "", "map", 1.0, False, PREDICTED, 0.5)
    c = Components(**_first_screen(vm, first, start), **_maps_and_kernels(vm, start),
                   **_cell_and_table(vm, start), **_gradcam(vm))
    with gr.Accordion("Explain: feature hierarchy, shapes and parameters, temperature, Grad-CAM, PyTorch",
                      open=False, elem_id="cnn-explain"):
        gr.Markdown(EXPLAIN, latex_delimiters=LATEX, elem_id="cnn-explain-text")
    return c


def wire(c: Components) -> None:
    ui = c._asdict()
    image = c.column.image
    private = {"api_visibility": "private"}
    settings = [c.model, c.layer, c.show, c.top_k, c.picks, c.normalize, c.temperature, c.cam_on, c.target,
                c.opacity, c.grid_info]
    c.column.on_new_image(section_views, settings, outputs(SectionViews, ui))
    # The pad's own "submit", as the pen lifts (drawing.js): the stroke just drawn becomes the input.
    c.column.sketch.submit(drawn_ui, [c.column.sketch, *settings],
                           outputs(DrawnViews, {**ui, "input": image, "input_note": c.column.note}),
                           trigger_mode="always_last", show_progress_on=image, **private)
    # .select, not .input: Gradio 6's dropdown fires .input twice per choice, and so every toast came twice.
    c.model.select(model_ui, [image, c.model, c.show, c.top_k, c.picks, c.normalize, c.temperature, c.cam_on,
                              c.opacity], outputs(ModelViews, ui), **private)
    gr.on([c.layer.select, c.show.input, c.top_k.release, c.picks.submit, c.normalize.input], layer_ui,
          [image, c.model, c.layer, c.show, c.top_k, c.picks, c.normalize], outputs(LayerViews, ui),
          trigger_mode="always_last", **private)
    c.grid.select(pick_from_grid, [c.grid_info, image, c.model, c.layer], outputs(PickViews, ui), **private)
    c.overview.select(overview_ui, [image, c.model, c.show, c.top_k, c.picks, c.normalize],
                      outputs(OverviewViews, ui), **private).then(None, js=TO_LAYER, **private)
    c.channel.submit(channel_ui, [image, c.model, c.layer, c.channel], outputs(PickViews, ui), **private)
    c.temperature.release(predict_ui, [image, c.model, c.temperature], outputs(PredictionViews, ui),
                          trigger_mode="always_last", **private)
    gr.on([c.cam_on.input, c.target.select, c.opacity.release], gradcam_ui,
          [image, c.model, c.cam_on, c.target, c.opacity], outputs(CamViews, ui), trigger_mode="always_last",
          **private)


def build() -> None:
    """The trained-network section of the Convolution tab, and its conv_* API endpoints."""
    wire(layout())
    api(network_api.conv_layers, "conv_layers")
    api(network_api.conv_features, "conv_features")
    api(network_api.conv_predict, "conv_predict")
    api(network_api.conv_gradcam, "conv_gradcam")
    # A drawing: a dark vertical bar on white paper, as a pad gives a stroke (0 ink, 255 paper).
    bar = [[0 if 11 <= c < 17 and 3 <= r < 25 else 255 for c in range(28)] for r in range(28)]
    api(network_api.conv_draw, "conv_draw", example={"pixels": bar})
