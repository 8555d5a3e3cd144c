// Writes a Hugging Face SentencePiece-style tokenizer.json (BPE with byte fallback, as Llama-2's and Mistral's) from a
// llama2.c tokenizer.bin, the way transformers' convert_slow_tokenizer does from a tokenizer.model: the vocabulary
// with U+2581 for spaces, and as merges every split (a, b) of a piece whose two halves are pieces, ordered by the
// piece's score (best first), then by the halves' ids. Used by gguf_check.sh as a fixture.
//   node spm_tokenizer_json.mjs TOKENIZER.bin OUT_DIR     writes OUT_DIR/tokenizer.json and tokenizer_config.json
import { readFileSync, writeFileSync } from "node:fs";

const [binPath, outDir] = process.argv.slice(2);
const bytes = readFileSync(binPath);
const pieces = [], scores = [];
for (let at = 4; at < bytes.length;) {
  const score = bytes.readFloatLE(at), length = bytes.readInt32LE(at + 4);
  pieces.push(bytes.subarray(at + 8, at + 8 + length).toString("utf8"));
  scores.push(score);
  at += 8 + length;
}
const isByte = (p) => /^<0x[0-9A-F]{2}>$/.test(p);
const specials = { 0: "<unk>", 1: "<s>", 2: "</s>" };
const vocab = {}, idOf = new Map();
pieces.forEach((piece, id) => {
  const text = specials[id] ?? (isByte(piece) ? piece : piece.replaceAll(" ", "\u2581"));
  vocab[text] = id;
  idOf.set(text, id);
});
const merges = [];
for (const [text, id] of idOf) {
  if (id < 3 || isByte(text)) continue;
  const chars = [...text];
  for (let cut = 1; cut < chars.length; cut++) {
    const left = chars.slice(0, cut).join(""), right = chars.slice(cut).join("");
    if (idOf.has(left) && idOf.has(right)) merges.push({ left, right, score: scores[id], l: idOf.get(left), r: idOf.get(right) });
  }
}
merges.sort((a, b) => b.score - a.score || a.l - b.l || a.r - b.r);
const added = [0, 1, 2].map((id) => ({ id, content: specials[id], single_word: false, lstrip: false, rstrip: false,
                                       normalized: false, special: true }));
const tokenizer = {
  version: "1.0", truncation: null, padding: null, added_tokens: added,
  normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" },
                                                 { type: "Replace", pattern: { String: " " }, content: "\u2581" }] },
  pre_tokenizer: null,
  post_processor: { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
                    pair: [], special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } } },
  decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "\u2581" }, content: " " }, { type: "ByteFallback" },
                                          { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] },
  model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
           fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: merges.map((m) => `${m.left} ${m.right}`) },
};
writeFileSync(`${outDir}/tokenizer.json`, JSON.stringify(tokenizer));
writeFileSync(`${outDir}/tokenizer_config.json`, JSON.stringify({ bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>",
                                                                  add_bos_token: true, add_eos_token: false }));
console.log(JSON.stringify({ tokens: pieces.length, merges: merges.length }));
