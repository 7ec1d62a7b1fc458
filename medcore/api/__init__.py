"""The model service: FastAPI over every shipped model (``app``), a Ray Serve deployment
(``ray_app``) and a client with the Python API (``client``). See ARCHITECTURE.md, "Model service"."""
