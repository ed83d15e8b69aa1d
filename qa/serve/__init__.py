"""Serve: the chat in the browser (Gradio) and the JSON API (FastAPI), on one server."""
