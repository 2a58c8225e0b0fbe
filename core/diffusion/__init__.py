"""The diffusion explorer's core: diffusers' schedulers driving the bundled class-conditional UNet, with
classifier-free guidance (sampling)."""
