"""The VAE tab's components in three inner tabs, each opening on its path (explorers/path.py), its main control and
its main picture: Interpolation (the two endpoint pickers over the decoded strip A → B, then the endpoints' codes and
AE vs VAE), Latent map (the 2-D map with live decoding, the pinned point and the decoded grid) and Prior and
dimensions (sampling from the prior, then vae16's dimensions); the explain panel under them all. No events here:
wiring.py connects them."""
from dataclasses import dataclass

import gradio as gr

from core.vae import latent as L
from explorers.common import LATEX, explain
from explorers.inputs import InputColumn
from explorers.path import Step, path
from explorers.vae.charts import chart
from explorers.vae.dimensions import SEED, TAU
from explorers.vae.interpolation import PATH_CHOICES, STEPS
from explorers.vae.latent_map import Z1, Z2, map_widget
from explorers.vae.picker import picker

EXPLAIN = explain("vae")


@dataclass
class Components:
    """Every component an event reads or feeds. The views' names are the fields of the *Views tuples, so
    `outputs(SomeViews, vars(c))` picks them in order."""
    column_a: InputColumn
    column_b: InputColumn
    recon_a: gr.Image
    code_a: gr.HTML
    recon_b: gr.Image
    code_b: gr.HTML
    steps: gr.Slider
    path: gr.Radio
    model: gr.Radio
    png: gr.DownloadButton
    gif: gr.DownloadButton
    strip: gr.Image
    strip_note: gr.Markdown
    probabilities: gr.HTML
    ae_strip: gr.Image
    vae_strip: gr.Image
    compare_note: gr.Markdown
    plausibility: gr.HTML
    map_model: gr.Radio
    latent_map: gr.HTML
    z1: gr.Slider
    z2: gr.Slider
    point_note: gr.Markdown
    point: gr.Image
    manifold: gr.Image
    map_note: gr.Markdown
    traversal: gr.Image
    traversal_note: gr.Markdown
    kl: gr.HTML
    sample_model: gr.Radio
    tau: gr.Slider
    seed: gr.Number
    resample: gr.Button
    samples: gr.Image
    sample_note: gr.Markdown
    kl_mu: gr.Textbox
    kl_logvar: gr.Textbox
    kl_go: gr.Button
    kl_out: gr.Markdown


def layout() -> Components:
    """Lay out the whole tab: its three sections as inner tabs, each opening on its own path, main control and
    main picture, then the explain panel under them all."""
    with gr.Tabs(elem_id="vae-sections"):
        with gr.Tab("Interpolation", id="vae-interpolation"):
            interpolation = {**interpolation_section(), **endpoint_codes(), **comparison_section()}
        with gr.Tab("Latent map", id="vae-map-section"):
            latent = map_section()
        with gr.Tab("Prior and dimensions", id="vae-prior-section"):
            prior = {**prior_section(), **dimensions_section()}
    return Components(**interpolation, **latent, **prior, **explain_panel())


def interpolation_section() -> dict:
    """The two endpoint pickers side by side (the main control) over the decoded strip A → B (the main picture),
    with the path's settings beside the strip and the CNN's reading of every frame under it."""
    path("vae-interpolation-path",
         "The strip decodes the codes on a walk from A's code to B's. A VAE's KL term packs the codes into one "
         "continuous cloud, so every step on the way decodes to a garment.",
         [Step("Pick endpoint A", "vae-a-picker"), Step("Pick endpoint B", "vae-b-picker"),
          Step("Read the decoded strip A → B", "vae-strip"), Step("Try slerp or more steps", "vae-path"),
          Step("See where the CNN's reading flips", "vae-probabilities"),
          Step("Compare a plain autoencoder", "vae-ae-strip")],
         picture="vae-strip", control="vae-pickers")
    with gr.Row(equal_height=False, elem_id="vae-pickers"):
        columns = {"column_a": picker("a"), "column_b": picker("b")}
    # the strip as wide as the page, its settings in a row under it: beside it, it was drawn so narrow at 800 px
    # that its captions were ~6 px high
    # no corner buttons over the strip's last frame: the PNG and GIF buttons under it download it
    strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[], elem_id="vae-strip")
    with gr.Row(equal_height=False):
        steps = STEPS.slider(elem_id="vae-steps", min_width=220)
        path_kind = gr.Radio(PATH_CHOICES, value="linear", label="Path", elem_id="vae-path", min_width=260)
        model = gr.Radio(["vae16", "vae2"], value="vae16", label="Decode with", elem_id="vae-model", min_width=180)
        with gr.Column(min_width=160):
            png = gr.DownloadButton("Strip as PNG", size="sm", elem_id="vae-png")
            gif = gr.DownloadButton("Animated GIF", size="sm", elem_id="vae-gif")
    strip_note = gr.Markdown(elem_id="vae-strip-note")
    probabilities = chart("vae-probabilities")  # drawn in the browser, with its title
    gr.Markdown("One line per class: the CNN's probability for each frame (0 is A, the last is B). A good path "
                "hands over from A's class to B's with every frame read confidently as some garment.",
                elem_id="vae-probabilities-caption")
    return {**columns, "steps": steps, "path": path_kind, "model": model, "png": png, "gif": gif, "strip": strip,
            "strip_note": strip_note, "probabilities": probabilities}


def endpoint_codes() -> dict:
    """Each endpoint's reconstruction and code under the strip's model."""
    gr.Markdown("### A and B through the encoder")
    ui = {}
    with gr.Row(equal_height=False):
        for name in ("a", "b"):
            with gr.Column(scale=1, min_width=320):
                # no corner buttons: they covered the small picture's top
                ui[f"recon_{name}"] = gr.Image(type="pil", format="png", height=140, interactive=False,
                                               label="Reconstruction (z = μ)", buttons=[],
                                               elem_id=f"vae-recon-{name}")
                # drawn in the browser, with its own title (whose code, under which model, its KL)
                ui[f"code_{name}"] = chart(f"vae-code-{name}")
    return ui


def comparison_section() -> dict:
    gr.Markdown("### AE vs VAE: the same endpoints, the same path\nBoth have a 2-D latent and the same layers; "
                "only the VAE is trained with the KL term.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            # captions above the strips: a floating label would cover their first frames
            gr.Markdown("**ae2** (plain autoencoder)", elem_id="vae-ae-caption")
            ae_strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                                elem_id="vae-ae-strip")
            gr.Markdown("**vae2** (VAE)", elem_id="vae-vae-caption")
            vae_strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                                 elem_id="vae-vae-strip")
            compare_note = gr.Markdown(elem_id="vae-compare-note")
        with gr.Column(scale=2, min_width=420):
            plausibility = chart("vae-plausibility")
    return {"ae_strip": ae_strip, "vae_strip": vae_strip, "compare_note": compare_note, "plausibility": plausibility}


def map_section() -> dict:
    """The 2-D map of the test codes (the main picture, with live decoding under the pointer) under its model's
    choice (the main control); the pinned point's boxes and picture under it, the decoded grid beside it."""
    path("vae-map-path",
         "Every test image's 2-D code, coloured by its class, with the path A → B; the picture beside the map is "
         "the decoder's output at the point under your pointer.",
         [Step("Move the pointer over the map", "vae-latent-map"), Step("Click to pin a point", "vae-point"),
          Step("Type z1 and z2", "vae-z1"), Step("Click the decoded grid", "vae-manifold"),
          Step("Switch to the plain autoencoder", "vae-map-model")],
         picture="vae-latent-map", control="vae-map-model")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            map_model = gr.Radio(list(L.MAP_MODELS), value="vae2", label="Model", elem_id="vae-map-model")
            with gr.Column(elem_id="vae-map"):  # drawn in the browser; it decodes the point under the pointer
                latent_map = map_widget()
            gr.Markdown("Each dot is one test image's code μ, coloured by its class; the line of dots is the path "
                        "A → B of the Interpolation tab. The VAE's KL term pulls the codes into one cloud around 0; "
                        "the plain autoencoder's classes sit in islands with empty space between them.",
                        elem_id="vae-map-caption")
            # the pinned point under the map (a click on the map or the grid, or z1 and z2), beside the grid
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=260):
                    z1 = Z1.slider(step=0.05, elem_id="vae-z1")
                    z2 = Z2.slider(step=0.05, elem_id="vae-z2")
                    point_note = gr.Markdown("Move z1 and z2, or click the map or the decoded grid.",
                                             elem_id="vae-point-note")
                with gr.Column(scale=2, min_width=180):
                    gr.Markdown("**Decoded point**", elem_id="vae-point-caption")  # a label would cover it
                    point = gr.Image(type="pil", format="png", interactive=False, height=180, show_label=False,
                                     buttons=["download"], elem_id="vae-point")
        with gr.Column(scale=2, min_width=360):
            # a caption, not a label: a floating label and corner buttons would cover the grid's clickable edge
            gr.Markdown("**Decoded grid** over the map's range: click anywhere to decode that point.",
                        elem_id="vae-manifold-caption")
            manifold = gr.Image(type="pil", format="png", interactive=False, height=440, show_label=False,
                                buttons=[], elem_id="vae-manifold")
            map_note = gr.Markdown(elem_id="vae-map-note")
    return {"map_model": map_model, "latent_map": latent_map, "z1": z1, "z2": z2, "point_note": point_note,
            "point": point, "manifold": manifold, "map_note": map_note}


def dimensions_section() -> dict:
    gr.Markdown("### vae16's dimensions, one at a time")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=420):
            gr.Markdown("**Traversal of A's code**: row zk shows A's code with zk set to the value above each "
                        "column; rows named on the left with their KL.", elem_id="vae-traversal-caption")
            # no corner buttons, no label: they covered its top frames; the sheet draws its own axes
            traversal = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                                 elem_id="vae-traversal")
        with gr.Column(scale=1, min_width=420):
            kl = chart("vae-kl")
            # beside the traversal, under the chart its rows are read against
            traversal_note = gr.Markdown(elem_id="vae-traversal-note")
    return {"traversal": traversal, "traversal_note": traversal_note, "kl": kl}


def prior_section() -> dict:
    """Codes drawn from the prior and decoded (the main picture) beside their settings (the main control)."""
    path("vae-prior-path",
         "Sixteen codes drawn from the prior N(0, τ² I) and decoded, each with the CNN's reading: a VAE is trained "
         "so that its prior's codes decode to garments. Below, what each of vae16's dimensions does to A.",
         [Step("Sample 16 codes", "vae-sample"), Step("Turn the temperature τ", "vae-tau"),
          Step("Try the 2-D models", "vae-sample-model"), Step("Traverse A's code one dimension at a time",
                                                               "vae-traversal"),
          Step("Read each dimension's KL", "vae-kl")],
         picture="vae-samples", control="vae-sample-controls")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260, elem_id="vae-sample-controls"):
            sample_model = gr.Radio(list(L.MODELS), value="vae16", label="Model", elem_id="vae-sample-model")
            tau = TAU.slider(step=0.05, elem_id="vae-tau")
            seed = SEED.number(elem_id="vae-seed")
            resample = gr.Button("Sample 16", elem_id="vae-sample")
        with gr.Column(scale=3, min_width=520):
            samples = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                               elem_id="vae-samples")  # corner buttons would cover the last sample
            sample_note = gr.Markdown(elem_id="vae-sample-note")
    return {"sample_model": sample_model, "tau": tau, "seed": seed, "resample": resample, "samples": samples,
            "sample_note": sample_note}


def explain_panel() -> dict:
    with gr.Accordion("Explain: the ELBO, reparameterisation, the KL, β-VAE, slerp, PyTorch, and a KL calculator",
                      open=False, elem_id="vae-explain"):
        gr.Markdown(EXPLAIN, latex_delimiters=LATEX, elem_id="vae-explain-text")
        with gr.Row():
            kl_mu = gr.Textbox("0, 1, -0.5", label="μ per dimension", elem_id="vae-kl-mu")
            kl_logvar = gr.Textbox("0, 0, -1", label="log σ² per dimension", elem_id="vae-kl-logvar")
        kl_go = gr.Button("Compute the KL", elem_id="vae-kl-go")
        kl_out = gr.Markdown(elem_id="vae-kl-out")
    return {"kl_mu": kl_mu, "kl_logvar": kl_logvar, "kl_go": kl_go, "kl_out": kl_out}
