"""Run the chat app: python app.py (the app itself is qa/app.py)."""
from qa.app import main

if __name__ == "__main__":
    main()
