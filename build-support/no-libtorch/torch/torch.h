// Found only when libtorch is not installed (see .cargo/config.toml).
#error "libtorch is missing: run `scripts/setup.sh` (installs torch 2.13.0 from PyPI into .venv), then build again."
// Stop here rather than print thousands of follow-on errors.
#include "libtorch-is-missing--run-scripts-setup.sh"
