"""The playground's components and their events, in the order the page shows them: a kernel on an image, the
step-through arithmetic, pooling, and the Explain panel; then the three conv_* endpoints.
"""
import gradio as gr
import numpy as np
from PIL import Image

from core.convolution import conv
from core.convolution.kernel_figures import pool_figure
from core.uploads import open_image
from explorers.common import LATEX, api, explain, outputs
from explorers.convolution import playground_api
from explorers.convolution.playground import (
    ARITH_DILATION,
    ARITH_PADDING,
    ARITH_STRIDE,
    COL,
    COLOR_CHOICES,
    DEFAULT_FASHION_INDEX,
    DILATION,
    DISPLAY_CHOICES,
    FASHION_INDEX,
    MATRIX_POOL_WHAT,
    PADDING,
    PHOTOS,
    PLAY_SECONDS,
    POOL_SIZE,
    POOL_SOURCES,
    POOL_STRIDE,
    ROW,
    SAMPLE,
    SOURCES,
    STRIDE,
    ArithmeticViews,
    KernelViews,
    PoolViews,
    arithmetic_ui,
    arithmetic_view,
    column_headers,
    display_for,
    image_preset_ui,
    kernel_note_ui,
    kernel_run,
    kernel_ui,
    kernel_view,
    last_sample,
    patch_cells,
    photo_note,
    pick_source,
    play_start,
    play_step,
    pool_markdown,
    pool_ui,
    preset_cells,
    preset_ui,
    take_patch_ui,
    upload_source,
)
from explorers.path import Step, path

EXPLAIN = explain("convolution")
# The API page's example matrix: a bright 2x2 square on a dark 4x4 ground, whose edges the Laplacian finds.
EXAMPLE_MATRIX = [[0, 0, 0, 0], [0, 9, 9, 0], [0, 9, 9, 0], [0, 0, 0, 0]]


def _kernel_section(default_img: Image.Image, default_preset: str):
    """Kernel on an image. Returns the components pooling reuses (image and channel choice)."""
    path("conv-path", "A kernel slides over the input: each output pixel is the sum of the kernel's weights times "
         "the pixels under it. Pick an image and a kernel; the output follows every change.",
         [Step("Pick an image", "conv-source"), Step("Pick a kernel", "conv-preset"),
          Step("Edit its weights", "conv-kernel-grid"), Step("Stride, padding, dilation", "conv-stride"),
          Step("Step through one sum", "conv-arith-figure"), Step("Pool", "conv-pool-figure")],
         picture="conv-output-image", control="conv-preset")
    # The input, the kernel and the output side by side, at 800 px too (three columns of 200 px); their settings
    # in the row below.
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=200):
            source = gr.Radio(SOURCES, value=SOURCES[0], label="Input", elem_id="conv-source")
            fashion_index = FASHION_INDEX.slider(hi=last_sample(), visible=False, elem_id="conv-fashion-index")
            image = gr.Image(default_img, type="filepath", format="png", sources=["upload", "clipboard"],
                             label="Input image", height=260, elem_id="conv-input-image")
            source_note = gr.Markdown(photo_note(SOURCES[0], default_img), elem_id="conv-source-note")
        with gr.Column(scale=1, min_width=200):
            preset = gr.Dropdown(list(conv.PRESETS), value=default_preset, label="Preset kernel",
                                 elem_id="conv-preset")
            grid, note = preset_cells(default_preset)
            kernel = gr.Dataframe(grid, headers=column_headers(grid), datatype="str", type="array",
                                  label="Kernel (editable)", elem_id="conv-kernel-grid", max_height=260)
            preset_note = gr.Markdown(note, elem_id="conv-preset-note")
        with gr.Column(scale=1, min_width=200):
            shown = display_for(conv.preset(default_preset))
            picture, info, hist = kernel_view(kernel_run(default_img, conv.preset(default_preset), 1, 1, "zeros",
                                                         1, "grayscale", shown))
            output = gr.Image(picture, type="pil", format="png", label="Output", height=260, interactive=False,
                              elem_id="conv-output-image")
            output_info = gr.Markdown(info, elem_id="conv-output-info")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            with gr.Row():
                stride = STRIDE.slider(elem_id="conv-stride")
                padding = PADDING.slider(elem_id="conv-padding")
                dilation = DILATION.slider(elem_id="conv-dilation")
            padding_mode = gr.Radio(list(conv.PADDING_MODES), value="zeros", label="Padding mode",
                                    elem_id="conv-padding-mode")
        with gr.Column(scale=1, min_width=300):
            color = gr.Radio(COLOR_CHOICES, value="grayscale", label="Channels", elem_id="conv-color")
            display = gr.Radio(DISPLAY_CHOICES, value=shown, label="Display mapping", elem_id="conv-display")
        with gr.Column(scale=1, min_width=300):
            histogram_plot = gr.Plot(hist, label="Value histogram", elem_id="conv-histogram")
            gr.Markdown("How many output pixels take each value (one colour per channel in RGB; the dotted line is "
                        "0). An edge kernel, whose weights sum to 0, piles them up at 0 with tails both ways; a blur, "
                        "whose weights are positive and sum to 1, stays within the input's 0 to 1.",
                        elem_id="conv-histogram-note")

    settings = [image, kernel, stride, padding, padding_mode, dilation, color, display]
    results = outputs(KernelViews, {"output": output, "output_info": output_info, "histogram": histogram_plot,
                                    "stride": stride, "padding": padding, "dilation": dilation})
    private = {"api_visibility": "private"}
    # .input, not .change: an upload clears the choice, and that must not bring a bundled picture back.
    source.input(pick_source, [source, fashion_index], [image, fashion_index, source_note], **private).then(
        kernel_ui, settings, results, **private)
    fashion_index.release(pick_source, [source, fashion_index], [image, fashion_index, source_note],
                          **private).then(kernel_ui, settings, results, **private)
    image.upload(upload_source, image, [source, fashion_index, source_note], **private).success(
        kernel_ui, settings, results, **private)
    # A preset also sets the display its output reads best in; a person may choose another afterwards.
    preset.input(image_preset_ui, preset, [kernel, preset_note, display], **private)
    # The grid's .change covers an edited cell and a preset's new grid alike, so a preset pick runs the kernel once.
    kernel.change(kernel_note_ui, [preset, kernel], preset_note, **private)
    gr.on([kernel.change, stride.release, padding.release, dilation.release, padding_mode.input,
           color.input, display.input],
          kernel_ui, settings, results, trigger_mode="always_last", **private)
    return image, color


def _arithmetic_section(patch: list[list[int]], patch_note: str, default_preset: str):
    """Step-through arithmetic. Returns the matrix grid, which pooling reuses."""
    gr.Markdown("### Step through the arithmetic\nOne output cell at a time: the kernel's receptive field in the "
                "padded input, the element-wise products, and their sum.")
    kernel_cells, kernel_text = preset_cells(default_preset)
    # Open on output (0, 0), where the walk of Play starts, in reading order as the kernel slides.
    view = arithmetic_view(patch, kernel_cells, 1, 1, "zeros", 1, 0, 0)
    with gr.Row(equal_height=False):
        # 2 : 3, not 1 : 2: the 7x7 matrix's seven columns need about 420 px, and at a third of 1400 px the last
        # one was cut off.
        with gr.Column(scale=2, min_width=420):
            matrix = gr.Dataframe(patch, headers=column_headers(patch), datatype="number", type="array",
                                  label="Input matrix (editable)", elem_id="conv-arith-matrix", max_height=320)
            matrix_note = gr.Markdown(patch_note, elem_id="conv-arith-matrix-note")
            with gr.Row():
                sample = SAMPLE.number(hi=last_sample(), elem_id="conv-arith-sample")
                take = gr.Button("Take its 7×7 patch", elem_id="conv-arith-take-patch")
            preset = gr.Dropdown(list(conv.PRESETS), value=default_preset, label="Preset kernel",
                                 elem_id="conv-arith-preset")
            kernel = gr.Dataframe(kernel_cells, headers=column_headers(kernel_cells), datatype="str", type="array",
                                  label="Kernel (editable)", elem_id="conv-arith-kernel")
            kernel_info = gr.Markdown(kernel_text, elem_id="conv-arith-kernel-note")
            with gr.Row():
                stride = ARITH_STRIDE.slider(elem_id="conv-arith-stride")
                padding = ARITH_PADDING.slider(elem_id="conv-arith-padding")
                dilation = ARITH_DILATION.slider(elem_id="conv-arith-dilation")
            padding_mode = gr.Radio(list(conv.PADDING_MODES), value="zeros", label="Padding mode",
                                    elem_id="conv-arith-padding-mode")
        with gr.Column(scale=3, min_width=480):
            fig, md, shape, _, _ = view
            with gr.Row():
                row = ROW.slider(0, hi=shape[0] - 1, elem_id="conv-arith-row")
                col = COL.slider(0, hi=shape[1] - 1, elem_id="conv-arith-col")
            with gr.Row():
                play = gr.Button("▶ Play: walk every position", elem_id="conv-arith-play")
                stop = gr.Button("■ Stop", elem_id="conv-arith-stop")
            figure = gr.Plot(fig, label="Padded input, kernel, products, output", elem_id="conv-arith-figure")
            summary = gr.Markdown(md, elem_id="conv-arith-sum")
    out_shape = gr.State(shape)
    timer = gr.Timer(PLAY_SECONDS, active=False)

    settings = [matrix, kernel, stride, padding, padding_mode, dilation, row, col, out_shape]
    results = outputs(ArithmeticViews, {"figure": figure, "summary": summary, "out_shape": out_shape, "row": row,
                                        "col": col, "stride": stride, "padding": padding, "dilation": dilation})
    private = {"api_visibility": "private"}
    gr.on([take.click, sample.submit], take_patch_ui, sample, [matrix, matrix_note, sample], **private).then(
        arithmetic_ui, settings, results, **private)
    preset.input(preset_ui, preset, [kernel, kernel_info], **private).then(arithmetic_ui, settings, results,
                                                                            **private)
    kernel.input(kernel_note_ui, [preset, kernel], kernel_info, **private)
    gr.on([matrix.input, kernel.input, stride.release, padding.release, dilation.release, padding_mode.input,
           row.release, col.release], arithmetic_ui, settings, results, trigger_mode="always_last", **private)
    play.click(play_start, [row, col, out_shape], [timer, row, col], **private).then(
        arithmetic_ui, settings, results, **private)
    stop.click(lambda: gr.Timer(active=False), None, timer, **private)
    timer.tick(play_step, settings, [*results, timer], **private)
    return matrix


def _pool_section(matrix, patch: list[list[int]], image, color):
    gr.Markdown("### Pooling\nMax or average pooling of the matrix above or of the input image (with its "
                "channel choice).")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            source = gr.Radio(POOL_SOURCES, value=POOL_SOURCES[0], label="Pool", elem_id="conv-pool-source")
            kind = gr.Radio(list(conv.POOL_KINDS), value="max", label="Kind", elem_id="conv-pool-kind")
            with gr.Row():
                size = POOL_SIZE.slider(elem_id="conv-pool-size")
                stride = POOL_STRIDE.slider(elem_id="conv-pool-stride")
        with gr.Column(scale=2, min_width=480):
            x = np.asarray(patch, dtype=np.float64)
            out, g = conv.pool(x, "max", 2, 2)
            figure = gr.Plot(pool_figure(x, out, g), label="Pooling", elem_id="conv-pool-figure")
            picture = gr.Image(type="pil", format="png", label="Pooled image", visible=False, height=300,
                               interactive=False, elem_id="conv-pool-image")
            info = gr.Markdown(pool_markdown("max", g, MATRIX_POOL_WHAT), elem_id="conv-pool-info")
    gr.on([source.input, kind.input, size.release, stride.release], pool_ui,
          [source, kind, size, stride, matrix, image, color],
          outputs(PoolViews, {"figure": figure, "picture": picture, "info": info, "size": size, "stride": stride}),
          trigger_mode="always_last", api_visibility="private")


def build() -> None:
    """The playground section of the Convolution tab, and its conv_* API endpoints."""
    default_img = open_image(PHOTOS[SOURCES[0]])
    image, color = _kernel_section(default_img, "Sobel x 3x3")
    patch, patch_note = patch_cells(DEFAULT_FASHION_INDEX)
    matrix = _arithmetic_section(patch, patch_note, "Laplacian 3x3")
    _pool_section(matrix, patch, image, color)
    with gr.Accordion("Explain: the convolution sum, output size, PyTorch, padding, the Laplacian", open=False,
                      elem_id="conv-explain"):
        gr.Markdown(EXPLAIN, latex_delimiters=LATEX, elem_id="conv-explain-text")
    api(playground_api.conv_arithmetic, "conv_arithmetic",
        example={"matrix": EXAMPLE_MATRIX, "kernel": conv.preset("Laplacian 3x3").tolist()})
    api(playground_api.conv_pool, "conv_pool", example={"matrix": EXAMPLE_MATRIX})
    api(playground_api.conv_kernel, "conv_kernel", example={"kernel": conv.preset("Sobel x 3x3").tolist()})
