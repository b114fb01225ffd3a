// The playground talks to the service's public API only: /v1/compress, /v1/reconstruct, /v1/answer, /v1/completions.
const $ = id => document.getElementById(id);
let compressedId = null;

async function post(route, body) {
  const response = await fetch(route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) throw new Error(json.error?.message ?? json.detail ?? json.title ?? response.statusText);
  return json;
}

async function run(button, work) {
  $("error").textContent = "";
  button.disabled = true;
  try { await work(); }
  catch (e) { $("error").textContent = e.message; }
  finally { button.disabled = false; }
}

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (file) $("document").value = await file.text();
});

$("compress").addEventListener("click", () => run($("compress"), async () => {
  const started = performance.now();
  const result = await post("/v1/compress", { contexts: [$("document").value], rate: Number($("rate").value), format: "base64-bfloat16" });
  const c = result.data[0];
  compressedId = c.compressed_id;
  $("compressed").textContent = `${c.tokens_in} tokens in, ${c.tokens_out} soft tokens out (${c.ratio}x), ` +
    `${c.cached ? "from the cache" : "compressed"} in ${Math.round(performance.now() - started)} ms; id ${c.compressed_id}`;
  $("reconstruct").disabled = false;
  $("ask").disabled = false;
}));

$("reconstruct").addEventListener("click", () => run($("reconstruct"), async () => {
  const result = await post("/v1/reconstruct", { compressed_id: compressedId, max_tokens: 120 });
  $("reconstruction").textContent = result.text;
}));

$("ask").addEventListener("click", () => run($("ask"), async () => {
  const question = $("question").value;
  let started = performance.now();
  const soft = await post("/v1/answer", { compressed_ids: [compressedId], question, max_tokens: 40 });
  $("answer-soft").textContent = soft.text;
  $("latency-soft").textContent = `${Math.round(performance.now() - started)} ms; the decoder read ${soft.usage.prompt_tokens} positions`;
  started = performance.now();
  const full = await post("/v1/completions", { prompt: $("document").value + question, max_tokens: 40 });
  $("answer-full").textContent = full.text;
  $("latency-full").textContent = `${Math.round(performance.now() - started)} ms; the decoder read ${full.usage.prompt_tokens} positions`;
}));
