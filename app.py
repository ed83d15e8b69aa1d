"""Run the chat app: python app.py (the server itself is qa/serve/server.py)."""
from qa.serve.server import main

if __name__ == "__main__":
    main()
