"""Handlers for tests/curation/readers/test_helper_process.py, imported by the helper process the test starts."""
import os
import time


def exit_handler():
    """``{"exit": code}`` exits the helper with ``code``; ``{"sleep": s}`` hangs it; otherwise it answers."""
    def handle(request: dict) -> str:
        if request.get("exit") is not None:
            os._exit(request["exit"])
        time.sleep(request.get("sleep", 0))
        return "alive"
    return handle
