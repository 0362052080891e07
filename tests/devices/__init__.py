"""Device drivers against wire-level simulators (pcscd + vpcd, ptys, image-file cameras) and the manager."""
