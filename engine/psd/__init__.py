"""PSD -> Poster: psd-tools reading behind limits checked before decoding, parsed in a
capped child process, colour converted to sRGB (`load`, `limits`, `isolation`, `color`)."""
