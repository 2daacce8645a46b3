"""``assay serve``: a bundle answering HTTP requests (Starlette + uvicorn), without the database.

:mod:`~assay.inference.serve.requests` turns a request body into the bundle's input and refuses what does not fit
its schema, naming the field; :mod:`~assay.inference.serve.metrics` counts requests and latencies for
``GET /metrics``; :mod:`~assay.inference.serve.app` is the Starlette application. Nothing here imports
:mod:`assay.db` (an import-linter contract checks it).
"""
