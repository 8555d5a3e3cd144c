// llama.cpp, through node-llama-cpp's prebuilt CPU build, as the independent consumer of lmshrink's GGUF files
// (issue 24) and the side-by-side speed reference of `lmshrink bench` (issue 22). Prints one JSON object.
//   node llama_cpp_reference.mjs tokenize MODEL.gguf TEXT_FILE          token ids of the file's text (BOS first when the
//                                                                       GGUF's add_bos_token says so; so below)
//   node llama_cpp_reference.mjs vocab-tests MODEL.gguf INP OUT         llama.cpp's tokenizer test pairs (inputs split
//                                                                       by "\n__ggml_vocab_test__\n", one line of ids
//                                                                       per input, no BOS): exits 1 on a mismatch
//   node llama_cpp_reference.mjs greedy MODEL.gguf PROMPT STEPS         BOS + prompt, then STEPS greedy tokens
//   node llama_cpp_reference.mjs perplexity MODEL.gguf TEXT N_CTX        llama-perplexity's protocol at context N_CTX
//   node llama_cpp_reference.mjs probs MODEL.gguf PROMPT                next-token probabilities after BOS + prompt
//   node llama_cpp_reference.mjs compare MODEL.gguf PROMPT RECORD.json TOLERANCE
//                                                                       ‖log p_llama.cpp − log p_lmshrink‖ / ‖log p_lmshrink‖
//                                                                       of the next token after BOS + prompt, where
//                                                                       RECORD is `lmshrink generate --json --prompt-logits`;
//                                                                       exits 1 above TOLERANCE
//   node llama_cpp_reference.mjs bench MODEL.gguf PROMPT_TOKENS GEN_TOKENS THREADS [REPEATS]
//                                                                       prefill and decode tokens/s (best of repeats)
import { readFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";

const [mode, modelPath, ...rest] = process.argv.slice(2);
const fail = (message) => { console.error(`llama_cpp_reference: ${message}`); process.exit(2); };
if (!mode || !modelPath) fail("usage: MODE MODEL.gguf ... (see the file's header)");

const threadsArg = mode === "bench" ? Number(rest[2]) : 1;
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
// BOS first when the GGUF says so (tokenizer.ggml.add_bos_token), as lmshrink's tokenizer adds it.
const withBos = (text) => [...(model.tokens.shouldPrependBosToken ? [model.tokens.bos] : []), ...model.tokenize(text)];

async function newSequence(contextSize, threads) {
  const context = await model.createContext({ contextSize, batchSize: contextSize, threads, sequences: 1 });
  return { context, sequence: context.getSequence() };
}

async function greedy(prompt, steps) {
  const { context, sequence } = await newSequence(Math.min(model.trainContextSize, 2048), 1);
  const promptTokens = withBos(prompt), generated = [];
  for await (const token of sequence.evaluate(promptTokens, { temperature: 0 })) {
    generated.push(token);
    if (generated.length >= steps) break;
  }
  await context.dispose();
  return { prompt_tokens: promptTokens, generated, text: model.detokenize(generated) };
}

async function probabilities(prompt) {
  const { context, sequence } = await newSequence(Math.min(model.trainContextSize, 2048), 1);
  const tokens = withBos(prompt);
  const iterator = sequence.evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 0 });
  const { value } = await iterator.next();
  await iterator.return();
  const probs = new Array(model.tokens.size ?? value.probabilities.size).fill(0);
  for (const [token, p] of value.probabilities) probs[token] = p;
  await context.dispose();
  return { prompt_tokens: tokens, probabilities: probs };
}

// llama-perplexity's protocol (tools/perplexity): the text tokenized with BOS, cut into windows of n_ctx tokens,
// each window's first token replaced by BOS (when the vocabulary has one), and only the second half scored: the
// logits at positions n_ctx/2 .. n_ctx-2 predict the tokens after them. Perplexity = exp(mean NLL), in float64.
async function perplexity(textPath, nCtx) {
  const { context, sequence } = await newSequence(nCtx, 1);
  const tokens = withBos(readFileSync(textPath, "utf8"));
  const windows = Math.floor(tokens.length / nCtx), first = Math.floor(nCtx / 2);
  let nllSum = 0, scored = 0;
  for (let w = 0; w < windows; w++) {
    const window = tokens.slice(w * nCtx, (w + 1) * nCtx);
    if (model.tokens.bos != null && model.tokens.shouldPrependBosToken) window[0] = model.tokens.bos;
    const input = window.map((token, j) => (j >= first && j < nCtx - 1 ? [token, { generateNext: { logits: true } }] : token));
    await sequence.clearHistory();
    const output = await sequence.controlledEvaluate(input);
    for (let j = first; j < nCtx - 1; j++) {
      const logits = output[j].next.logits;  // Map token -> logit
      let max = -Infinity;
      for (const value of logits.values()) max = Math.max(max, value);
      let sum = 0;
      for (const value of logits.values()) sum += Math.exp(value - max);
      nllSum -= logits.get(tokens[w * nCtx + j + 1]) - max - Math.log(sum);
      scored++;
    }
  }
  await context.dispose();
  return { ppl: Math.exp(nllSum / scored), nll: nllSum / scored, tokens_scored: scored, windows, n_ctx: nCtx };
}

async function bench(promptTokens, genTokens, threads, repeats) {
  let best = { prefill: 0, decode: 0 };
  for (let r = 0; r < repeats; r++) {
    const { context, sequence } = await newSequence(promptTokens + genTokens + 8, threads);
    const prompt = Array.from({ length: promptTokens }, (_, i) => 100 + (i * 37) % 1000);
    let start = performance.now(), first = 0, count = 0;
    for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
      if (count === 0) first = performance.now();
      if (++count > genTokens) break;
    }
    const end = performance.now();
    best.prefill = Math.max(best.prefill, promptTokens / ((first - start) / 1000));
    best.decode = Math.max(best.decode, genTokens / ((end - first) / 1000));
    await context.dispose();
  }
  return { threads, prompt_tokens: promptTokens, gen_tokens: genTokens, repeats,
           prefill_tokens_per_second: best.prefill, decode_tokens_per_second: best.decode };
}

function logSoftmax(logits) {
  const most = logits.reduce((a, b) => Math.max(a, b), -Infinity);
  const sum = logits.reduce((total, x) => total + Math.exp(x - most), 0);
  return logits.map((x) => x - most - Math.log(sum));
}

async function compare(prompt, recordPath, tolerance) {
  const record = JSON.parse(readFileSync(recordPath, "utf8"));
  if (!Array.isArray(record.prompt_logits)) fail(`${recordPath}: no prompt_logits (run generate with --prompt-logits)`);
  const ours = logSoftmax(record.prompt_logits);
  const { prompt_tokens, probabilities: probs } = await probabilities(prompt);
  const promptMatches = JSON.stringify(prompt_tokens) === JSON.stringify(record.tokens.slice(0, record.prompt_tokens));
  let difference = 0, norm = 0;
  ours.forEach((x, i) => { const d = Math.log(probs[i]) - x; difference += d * d; norm += x * x; });
  const relative = Math.sqrt(difference / norm);
  const passed = promptMatches && relative <= tolerance;
  return { prompt_tokens_equal: promptMatches, relative_error: relative, tolerance, passed };
}

function vocabTests(inputPath, outputPath) {
  const inputs = readFileSync(inputPath, "utf8").split("\n__ggml_vocab_test__\n");
  const expected = readFileSync(outputPath, "utf8").split("\n");
  let mismatches = 0, first = null;
  inputs.forEach((text, i) => {
    if (i >= expected.length || (text === "" && i === inputs.length - 1)) return;
    const want = expected[i].trim() === "" ? [] : expected[i].trim().split(/\s+/).map(Number);
    const got = model.tokenize(text, false);
    if (JSON.stringify(got) !== JSON.stringify(want)) { mismatches++; first ??= { input: text, got, want }; }
  });
  return { cases: Math.min(inputs.length, expected.length), mismatches, first_mismatch: first, passed: mismatches === 0 };
}

let result;
if (mode === "tokenize") result = { tokens: withBos(readFileSync(rest[0], "utf8")) };
else if (mode === "vocab-tests") result = vocabTests(rest[0], rest[1]);
else if (mode === "greedy") result = await greedy(rest[0], Number(rest[1]));
else if (mode === "perplexity") result = await perplexity(rest[0], Number(rest[1]));
else if (mode === "probs") result = await probabilities(rest[0]);
else if (mode === "compare") result = await compare(rest[0], rest[1], Number(rest[2]));
else if (mode === "bench") result = await bench(Number(rest[0]), Number(rest[1]), threadsArg, Number(rest[3] ?? 3));
else fail(`unknown mode ${mode}`);
result.llama_cpp = { node_llama_cpp: "3.22.1", model: modelPath };
console.log(JSON.stringify(result));
await model.dispose();
await llama.dispose();
if (result.passed === false) process.exit(1);
