"""The attention explorer's core: attention maths on plain arrays (maths), text transformers and their Q and K
(text), vision transformers (image), and the figures of both (figures)."""
