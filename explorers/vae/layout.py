"""The VAE tab's components, section by section, in page order: the two endpoints, the interpolation, AE vs VAE,
the 2-D latent map, vae16's dimensions, sampling from the prior and the explain panel. No events here: wiring.py
connects them."""
from dataclasses import dataclass

import gradio as gr

from core.vae import latent as L
from explorers.common import LATEX, explain
from explorers.inputs import InputColumn, gallery_pick, input_column
from explorers.vae.charts import chart
from explorers.vae.dimensions import SEED, TAU
from explorers.vae.interpolation import PATH_CHOICES, STEPS
from explorers.vae.latent_map import Z1, Z2, map_widget

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
    """Lay out the whole tab, top to bottom, and return its components."""
    gr.Markdown("## Latent spaces: VAE and autoencoder\nPick two images; walk from one's code to the other's and "
                "decode every step. The KL term pulls a VAE's codes into one continuous cloud, so every step "
                "decodes to a garment; compare a plain autoencoder on the same path and the whole 2-D map.")
    return Components(**endpoint_columns(), **path_section(), **comparison_section(), **map_section(),
                      **dimensions_section(), **prior_section(), **explain_panel())


def endpoint_columns() -> dict:
    firsts = {"a": gallery_pick(5), "b": gallery_pick(7)}  # Sandal -> Sneaker
    ui = {}
    with gr.Row(equal_height=False):
        for name, (first, first_note) in firsts.items():
            with gr.Column(scale=1, min_width=300):
                gr.Markdown(f"### Endpoint {name.upper()}")
                ui[f"column_{name}"] = column = input_column(first, f"vae-{name}")
                column.note.value = first_note  # input_column's note names class 0, not this tab's first image
                ui[f"recon_{name}"] = gr.Image(type="pil", format="png", height=140, interactive=False,
                                               label="Reconstruction (z = μ)",
                                               elem_id=f"vae-recon-{name}")
                # drawn in the browser, with its own title (whose code, under which model, its KL)
                ui[f"code_{name}"] = chart(f"vae-code-{name}")
    return ui


def path_section() -> dict:
    gr.Markdown("### Interpolation")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            steps = STEPS.slider(elem_id="vae-steps")
            path = gr.Radio(PATH_CHOICES, value="linear", label="Path", elem_id="vae-path")
            model = gr.Radio(["vae16", "vae2"], value="vae16", label="Decode with", elem_id="vae-model")
            with gr.Row():
                png = gr.DownloadButton("Strip as PNG", elem_id="vae-png")
                gif = gr.DownloadButton("Animated GIF", elem_id="vae-gif")
        with gr.Column(scale=4, min_width=520):
            # no corner buttons over the strip's last frame: the PNG and GIF buttons beside it download it
            strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                             elem_id="vae-strip")
            strip_note = gr.Markdown(elem_id="vae-strip-note")
            probabilities = chart("vae-probabilities")  # drawn in the browser, with its title
    return {"steps": steps, "path": path, "model": model, "png": png, "gif": gif, "strip": strip,
            "strip_note": strip_note, "probabilities": probabilities}


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
    gr.Markdown("### The whole 2-D latent map")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            map_model = gr.Radio(list(L.MAP_MODELS), value="vae2", label="Model", elem_id="vae-map-model")
            with gr.Column(elem_id="vae-map"):  # drawn in the browser; it decodes the point under the pointer
                latent_map = map_widget()
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
    gr.Markdown("### Dimensions (vae16)")
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
    gr.Markdown("### Sampling from the prior")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
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
