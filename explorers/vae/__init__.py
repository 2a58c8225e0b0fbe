"""The VAE tab: interpolation between two images of a person's choosing, AE vs VAE on the same path, the whole 2-D
latent map with live decoding, per-dimension traversals and KL, and sampling from the prior; core.vae does the
work.

layout lays the page out in three inner tabs, with picker's two endpoint pickers; wiring connects its events;
interpolation, latent_map and dimensions compute what each section shows (latent_map.js draws the map in the
browser); endpoints holds the gr.api endpoints vae_encode, vae_interpolate, vae_decode, vae_decode_point, vae_kl and
vae_latent_map, which return what the UI draws.
"""
import gradio as gr

from explorers.vae import endpoints, layout, wiring


def build(demo: gr.Blocks, tab: gr.Tab) -> None:
    """The VAE tab and its vae_* API endpoints. Its views are computed when the tab is first opened (tab.select);
    demo is not needed."""
    wiring.wire(layout.layout(), tab)
    endpoints.register()
