"""Generators: a chat model behind one small interface, with three backends chosen by configuration.

* ``llama.cpp`` (default): a GGUF file run on the CPU by llama-cpp-python;
* ``transformers``: any Hugging Face causal LM (a folder, a hub name, or a ``.gguf`` file), for GPU boxes;
* ``openai``: any OpenAI-compatible HTTP endpoint (vLLM, Ollama, ``python -m llama_cpp.server``), how a
  deployment serving many users scales the model out.

Each backend streams the reply as text pieces (:meth:`Generator.stream`); one instance is shared by all
callers and serves them one at a time.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Protocol

from qa.config import DEFAULT_LLM_MODEL, Config
from qa.models import QWEN_GGUF, ModelError, build_qwen_gguf

Message = dict[str, str]


class Backend(str, Enum):
    LLAMA_CPP = "llama.cpp"
    TRANSFORMERS = "transformers"
    OPENAI = "openai"


class GenerationError(RuntimeError):
    """The model failed while answering (e.g. the endpoint went away); the message says what happened."""


class Generator(Protocol):
    name: str

    def stream(self, messages: list[Message], max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        """The reply to ``messages`` (greedy decoding), piece by piece as it is generated, ended before
        any of the ``stop`` strings."""
        ...


def complete(generator: Generator, messages: list[Message], max_tokens: int, stop: Sequence[str] = ()) -> str:
    """The whole reply of ``generator`` to ``messages``."""
    return "".join(generator.stream(messages, max_tokens, stop))


def until(pieces: Iterable[str], stop: Sequence[str]) -> Iterator[str]:
    """``pieces`` of text up to the first of the ``stop`` strings (a tail that may begin one is held back)."""
    keep = max(map(len, stop), default=1) - 1
    text = ""
    for piece in pieces:
        text += piece
        cut = min((at for s in stop if (at := text.find(s)) >= 0), default=-1)
        if cut >= 0:
            if cut:
                yield text[:cut]
            return
        if len(text) > keep:
            yield text[: len(text) - keep]
            text = text[len(text) - keep :]
    if text:
        yield text


class LlamaCppGenerator:
    """A GGUF model on the CPU (llama-cpp-python). The prompt prefix shared with the previous call (the
    system prompt) is not read again.

    Args:
        model_path: the ``.gguf`` file.
        threads: CPU threads.
        n_ctx: context window in tokens.
        flash_attn: read the prompt with flash attention.
    """

    def __init__(
        self, model_path: str | Path, threads: int = 2, n_ctx: int = 4096, flash_attn: bool = True
    ) -> None:
        from llama_cpp import Llama

        path = Path(model_path)
        if not path.is_file():
            raise ModelError(
                f"answering model {path} does not exist; fix: run `qa setup`, or set QA_LLM_MODEL"
            )
        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                flash_attn=flash_attn,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"llama.cpp cannot load {path} ({exc}): the file is not a valid GGUF model (damaged or "
                f"incomplete); fix: delete it and run `qa setup`, or point QA_LLM_MODEL at a valid .gguf file"
            ) from exc
        self.name = path.name
        self._lock = threading.Lock()

    def stream(self, messages: list[Message], max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        with self._lock:
            for chunk in self.llm.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                temperature=0.0,
                stream=True,
                stop=list(stop) or None,
            ):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece


class TransformersGenerator:
    """A Hugging Face causal LM through transformers (on the GPU when there is one).

    Args:
        model: a model folder or hub name, or a ``.gguf`` file (dequantized on load; needs ``gguf``).
        threads: CPU threads when running on the CPU.
    """

    def __init__(self, model: str, threads: int = 2) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        source, gguf_file = (
            (str(Path(model).parent), Path(model).name) if model.endswith(".gguf") else (model, None)
        )
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=gguf_file)
            self.model = AutoModelForCausalLM.from_pretrained(
                source, gguf_file=gguf_file, dtype=torch.bfloat16 if self.device == "cuda" else torch.float32
            ).to(self.device)
        except (OSError, ValueError, ImportError) as exc:
            raise ModelError(
                f"transformers cannot load the answering model {model!r} ({exc}); fix: set QA_LLM_MODEL to a "
                f"causal LM folder or .gguf file"
            ) from exc
        self.model.eval()
        self.name = Path(model).name
        self._lock = threading.Lock()

    def stream(self, messages: list[Message], max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = {**inputs, "max_new_tokens": max_tokens, "do_sample": False, "streamer": streamer}
        if stop:
            kwargs |= {"stop_strings": list(stop), "tokenizer": self.tokenizer}
        with self._lock:
            worker = threading.Thread(target=self.model.generate, kwargs=kwargs, daemon=True)
            worker.start()
            yield from until(streamer, stop)  # transformers stops after the token completing a stop string
            worker.join()


class OpenAIGenerator:
    """Any OpenAI-compatible chat completions endpoint, streamed over server-sent events.

    Args:
        url: the base URL, e.g. ``http://127.0.0.1:8000/v1``.
        model: the served model's name.
        api_key: sent as a bearer token when given.
        timeout: seconds to wait for the server.
    """

    def __init__(self, url: str, model: str, api_key: str = "", timeout: float = 120.0) -> None:
        if not url:
            raise ModelError(
                "the openai backend needs an endpoint; fix: set QA_LLM_URL (e.g. http://127.0.0.1:8000/v1)"
            )
        self.url = url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.name = f"{model} @ {url}"

    def stream(self, messages: list[Message], max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0.0}
        if stop:
            body["stop"] = list(stop)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.url, data=json.dumps({**body, "stream": True}).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                for raw in response:
                    line = raw.decode("utf-8").strip()
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    choices = json.loads(data).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise GenerationError(f"the model endpoint {self.url} failed: {exc}") from exc


def resolve_llm_model(config: Config) -> str:
    """Local path of the built-in model (assembled on first use), else ``config.llm_model`` unchanged."""
    if config.llm_model == DEFAULT_LLM_MODEL:
        return str(build_qwen_gguf(Path(config.models_dir) / QWEN_GGUF))
    return config.llm_model


def load_generator(config: Config) -> Generator:
    """The generator that ``config`` describes (the built-in model is assembled first if needed)."""
    try:
        backend = Backend(config.llm_backend)
    except ValueError:
        choices = ", ".join(b.value for b in Backend)
        raise ModelError(f"unknown QA_LLM_BACKEND {config.llm_backend!r}; choose one of: {choices}") from None
    if backend is Backend.OPENAI:
        return OpenAIGenerator(config.llm_url, config.llm_model, config.llm_api_key)
    model = resolve_llm_model(config)
    if backend is Backend.TRANSFORMERS:
        return TransformersGenerator(model, config.llm_threads)
    return LlamaCppGenerator(model, config.llm_threads, config.llm_ctx, config.llm_flash_attn)
