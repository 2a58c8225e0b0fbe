"""The GAN explorer's core: the losses (losses), 2-D toy data with small MLP GANs, their views and the density
metrics, and the D* playground (toy), and the Fashion-MNIST DCGAN trained live (images)."""
