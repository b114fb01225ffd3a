// The official OpenAI Node client, unchanged, against a Gmsa service: `node check.mjs http://127.0.0.1:PORT/v1 API_KEY`.
// Prints one JSON object with what each call gave; Gmsa.Api.Tests' OpenAiClientTests asserts on it.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: process.argv[3] ?? "unused", maxRetries: 0, timeout: 60_000 });
const document = "The capital of Chad is N'Djamena. The population of Chad is 11,631,456 (July 2015 est.). " +
  "The currency of Chad is the Central African CFA franc. Chad became independent on 11 August 1960.";
const results = {};

async function check(name, run) {
  try {
    results[name] = await run();
  } catch (error) {
    // What the client made of a failed call: its error class, the HTTP status and the parsed OpenAI error object.
    results[name] = { thrown: error.constructor.name, status: error.status ?? null, error: error.error ?? null, message: error.message };
  }
}

await check("models", async () => {
  const page = await client.models.list();
  return { ids: page.data.map(m => m.id), object: page.data[0]?.object };
});

await check("chat", async () => {
  const reply = await client.chat.completions.create({
    model: "gmsa-tiny", max_tokens: 8, temperature: 0,
    messages: [{ role: "user", content: "Once upon a time" }],
  });
  return { object: reply.object, content: reply.choices[0].message.content, role: reply.choices[0].message.role,
           finish_reason: reply.choices[0].finish_reason, total_tokens: reply.usage.total_tokens };
});

await check("chat_parts", async () => {
  // The content-part array the client's types also allow (and many frameworks send): text parts read concatenated.
  const reply = await client.chat.completions.create({
    model: "gmsa-tiny", max_tokens: 8, temperature: 0,
    messages: [{ role: "user", content: [{ type: "text", text: "Once upon " }, { type: "text", text: "a time" }] }],
  });
  return { content: reply.choices[0].message.content, total_tokens: reply.usage.total_tokens };
});

await check("chat_documents", async () => {
  // Gmsa's extension fields travel in the body beside OpenAI's (Python: extra_body).
  const reply = await client.chat.completions.create({
    model: "gmsa-tiny", max_tokens: 8, temperature: 0, documents: [document], rate: 4,
    messages: [{ role: "user", content: "Question: What is the capital of Chad? Answer:" }],
  });
  return { content: reply.choices[0].message.content, prompt_tokens: reply.usage.prompt_tokens };
});

await check("chat_stream", async () => {
  const stream = await client.chat.completions.create({
    model: "gmsa-tiny", max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true },
    messages: [{ role: "user", content: "Once upon a time" }],
  });
  let content = "", chunks = 0, finish = null, usage = null;
  for await (const chunk of stream) {
    chunks++;
    content += chunk.choices[0]?.delta?.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  return { content, chunks, finish_reason: finish, total_tokens: usage?.total_tokens ?? null };
});

await check("completions", async () => {
  const reply = await client.completions.create({ model: "gmsa-tiny", prompt: "The ship sailed", max_tokens: 6, n: 2, temperature: 0.8, seed: 5 });
  return { object: reply.object, choices: reply.choices.map(c => ({ index: c.index, text: c.text })), total_tokens: reply.usage.total_tokens };
});

await check("completions_prompts", async () => {
  const reply = await client.completions.create({ model: "gmsa-tiny", prompt: ["The ship sailed", "Once upon a time"], max_tokens: 4, temperature: 0 });
  return { choices: reply.choices.map(c => ({ index: c.index, text: c.text })), prompt_tokens: reply.usage.prompt_tokens };
});

await check("completions_stream", async () => {
  const stream = await client.completions.create({ model: "gmsa-tiny", prompt: "The ship sailed", max_tokens: 6, temperature: 0, stream: true });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
  return { text };
});

await check("wrong_key", () => new OpenAI({ baseURL: process.argv[2], apiKey: "not-the-key", maxRetries: 0 }).models.list());

await check("bad_request", () => client.chat.completions.create({
  model: "gmsa-tiny", max_tokens: -1, messages: [{ role: "user", content: "hi" }],
}));

console.log(JSON.stringify(results));
