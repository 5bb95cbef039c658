"""The FinePOSE denoiser: text encoders, prompt learning (FPP), prompt-pose communication (FPC), PTS,
and the MixSTE backbone."""
