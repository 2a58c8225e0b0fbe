"""The VAE explorer's core: encoding, latent paths, decoding and the CNN's reading of decoded images (latent), and
the tab's figures and picture sheets (figures)."""
