"""Run the fake OpenAI-compatible endpoint by hand.

python -m tests.fake_openai --port 8112 [--key sk-...|--no-key]
"""

from __future__ import annotations

import argparse
import time

from tests.fake_openai.server import FakeOpenAI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible chat endpoint.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8112)
    parser.add_argument("--key", default="sk-fake-openai-key-0123456789")
    parser.add_argument("--no-key", action="store_true", help="accept any key, like Ollama")
    args = parser.parse_args(argv)
    fake = FakeOpenAI(key=None if args.no_key else args.key, host=args.host, port=args.port)
    fake.start()
    print(
        f"Fake OpenAI-compatible endpoint at {fake.url} (models: {', '.join(fake.models)}; "
        f"key: {'any' if args.no_key else args.key}). Ctrl-C stops it.",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
