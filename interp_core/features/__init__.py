"""Features beside neurons: sparse autoencoders (and transcoders) loaded from SAELens / Gemma Scope files or the hub,
trained here, and attached to a model as a site whose activations are their latents."""
from interp_core.features.formats import load_path, save_saelens
from interp_core.features.sae import SAE, decoder_direction
from interp_core.features.store import attach, list_trained, load_sae

__all__ = ["SAE", "attach", "decoder_direction", "list_trained", "load_path", "load_sae", "save_saelens"]
