"""The official OpenAI Python client, unchanged, against a Gmsa service: `python3 check.py http://127.0.0.1:PORT/v1 API_KEY`.

Prints one JSON object with what each call gave, the same keys as ../openai-node/check.mjs; Gmsa.Api.Tests'
OpenAiClientTests asserts on it.
"""
import json
import sys

import openai
from openai import OpenAI

base_url, api_key = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "unused"
client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)
document = ("The capital of Chad is N'Djamena. The population of Chad is 11,631,456 (July 2015 est.). "
            "The currency of Chad is the Central African CFA franc. Chad became independent on 11 August 1960.")
results = {"client_version": openai.__version__}


def check(name, run):
    try:
        results[name] = run()
    except openai.APIStatusError as error:
        # What the client made of a failed call: its error class, the HTTP status and the parsed OpenAI error object.
        results[name] = {"thrown": type(error).__name__, "status": error.status_code,
                         "error": error.body if isinstance(error.body, dict) else None, "message": error.message}


def models():
    page = client.models.list()
    return {"ids": [m.id for m in page.data], "object": page.data[0].object if page.data else None}


def chat():
    reply = client.chat.completions.create(model="gmsa-tiny", max_tokens=8, temperature=0,
                                           messages=[{"role": "user", "content": "Once upon a time"}])
    choice = reply.choices[0]
    return {"object": reply.object, "content": choice.message.content, "role": choice.message.role,
            "finish_reason": choice.finish_reason, "total_tokens": reply.usage.total_tokens}


def chat_parts():
    # The content-part list the client's types also allow: text parts read concatenated.
    reply = client.chat.completions.create(model="gmsa-tiny", max_tokens=8, temperature=0, messages=[
        {"role": "user", "content": [{"type": "text", "text": "Once upon "}, {"type": "text", "text": "a time"}]}])
    return {"content": reply.choices[0].message.content, "total_tokens": reply.usage.total_tokens}


def chat_documents():
    # Gmsa's extension fields travel in the body beside OpenAI's, through extra_body.
    reply = client.chat.completions.create(
        model="gmsa-tiny", max_tokens=8, temperature=0, extra_body={"documents": [document], "rate": 4},
        messages=[{"role": "user", "content": "Question: What is the capital of Chad? Answer:"}])
    return {"content": reply.choices[0].message.content, "prompt_tokens": reply.usage.prompt_tokens}


def chat_stream():
    stream = client.chat.completions.create(
        model="gmsa-tiny", max_tokens=8, temperature=0, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Once upon a time"}])
    content, chunks, finish, usage = "", 0, None, None
    for chunk in stream:
        chunks += 1
        if chunk.choices:
            content += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    return {"content": content, "chunks": chunks, "finish_reason": finish,
            "total_tokens": usage.total_tokens if usage else None}


def completions():
    reply = client.completions.create(model="gmsa-tiny", prompt="The ship sailed", max_tokens=6, n=2, temperature=0.8, seed=5)
    return {"object": reply.object, "choices": [{"index": c.index, "text": c.text} for c in reply.choices],
            "total_tokens": reply.usage.total_tokens}


def completions_prompts():
    reply = client.completions.create(model="gmsa-tiny", prompt=["The ship sailed", "Once upon a time"], max_tokens=4, temperature=0)
    return {"choices": [{"index": c.index, "text": c.text} for c in reply.choices], "prompt_tokens": reply.usage.prompt_tokens}


def completions_stream():
    stream = client.completions.create(model="gmsa-tiny", prompt="The ship sailed", max_tokens=6, temperature=0, stream=True)
    return {"text": "".join(chunk.choices[0].text for chunk in stream if chunk.choices)}


check("models", models)
check("chat", chat)
check("chat_parts", chat_parts)
check("chat_documents", chat_documents)
check("chat_stream", chat_stream)
check("completions", completions)
check("completions_prompts", completions_prompts)
check("completions_stream", completions_stream)
check("wrong_key", lambda: OpenAI(base_url=base_url, api_key="not-the-key", max_retries=0).models.list())
check("bad_request", lambda: client.chat.completions.create(
    model="gmsa-tiny", max_tokens=-1, messages=[{"role": "user", "content": "hi"}]))

print(json.dumps(results))
