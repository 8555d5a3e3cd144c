#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into fuzz/corpus/<harness>/ (committed; rerun after a format change).

Each seed is a small valid input of the reader, so the fuzzer starts from inputs that reach deep into it.
scripts/fuzz.sh adds the real files of ../shared (tokenizers, task data) as further seeds when they are present.
"""
import bz2
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    folder = os.path.join(HERE, "corpus", harness)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    header, offset, payload = {}, 0, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        payload += raw
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text.encode() + payload


def safetensors_seeds():
    put("fuzz_safetensors", "f32", safetensors({"w": ("F32", [2, 3], struct.pack("<6f", *range(6)))}))
    put("fuzz_safetensors", "mixed", safetensors({
        "model.embed_tokens.weight": ("BF16", [4, 2], b"\x80\x3f" * 8),
        "model.norm.weight": ("F16", [2], b"\x00\x3c" * 2),
        "codes": ("U8", [3], b"\x01\x02\x03"), "index": ("I16", [2], b"\x00\x00\x01\x00"),
        "empty": ("F64", [0, 5], b"")}, {"format": "pt", "lmshrink_format": "dictsparse"}))
    put("fuzz_safetensors_index", "two_shards", json.dumps({"metadata": {"total_size": 64}, "weight_map": {
        "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
        "lm_head.weight": "model-00002-of-00002.safetensors"}}, indent=2))


def config_seeds():
    llama = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "vocab_size": 512, "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
             "tie_word_embeddings": False, "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": [2, 3],
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 128}}
    put("fuzz_hf_config", "llama3", json.dumps(llama, indent=2))
    qwen2 = dict(llama, architectures=["Qwen2ForCausalLM"], model_type="qwen2", tie_word_embeddings=True,
                 rope_scaling=None, sliding_window=128, use_sliding_window=False)
    put("fuzz_hf_config", "qwen2", json.dumps(qwen2, indent=2))
    qwen3 = dict(llama, architectures=["Qwen3ForCausalLM"], model_type="qwen3", dtype="bfloat16",
                 rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
    del qwen3["rope_scaling"], qwen3["rope_theta"], qwen3["torch_dtype"]
    put("fuzz_hf_config", "qwen3", json.dumps(qwen3, indent=2))
    mistral = dict(llama, architectures=["MistralForCausalLM"], model_type="mistral", rope_scaling=None,
                   sliding_window=4096, eos_token_id=2)
    put("fuzz_hf_config", "mistral", json.dumps(mistral, indent=2))


def tokenizer_seeds():
    special = lambda i, c: {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": True}
    spm = {"version": "1.0", "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
           "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                               {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
           "pre_tokenizer": None,
           "post_processor": {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                              "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
           "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                         {"type": "ByteFallback"}, {"type": "Fuse"},
                                                         {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
           "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True,
                     "ignore_merges": False,
                     "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "<0xC3>": 4, "<0xA9>": 5, "\u2581": 6,
                               "h": 7, "e": 8, "l": 9, "o": 10, "w": 11, "r": 12, "d": 13, "he": 14, "ll": 15,
                               "\u2581he": 16, "llo": 17, "\u2581hello": 18, "\u2581w": 19, "or": 20, "\u2581wor": 21,
                               "\u2581world": 22, "ld": 23},
                     "merges": ["h e", "l l", "\u2581 he", "ll o", "\u2581he llo", "\u2581 w", "o r", "\u2581w or", "l d",
                                "\u2581wor ld"]}}
    put("fuzz_tokenizer_json", "sentencepiece_bpe", json.dumps(spm, ensure_ascii=False))
    # Byte-level BPE as Llama-3 and Qwen write it: a Split regex, ByteLevel, pair merges, a NFC normalizer.
    byte_chars = [chr(c) for c in range(33, 127)]
    vocab = {c: i for i, c in enumerate(byte_chars)}
    vocab.update({"\u0120": len(vocab), "\u0120t": len(vocab) + 1, "he": len(vocab) + 2, "\u0120the": len(vocab) + 3})
    byte_level = {"version": "1.0", "added_tokens": [special(len(vocab), "<|endoftext|>"), special(len(vocab) + 1, "<|im_start|>")],
                  "normalizer": {"type": "NFC"},
                  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                      {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
                       "behavior": "Isolated", "invert": False},
                      {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
                  "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
                  "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
                  "model": {"type": "BPE", "dropout": None, "unk_token": None, "byte_fallback": False, "ignore_merges": True,
                            "vocab": vocab, "merges": [["\u0120", "t"], ["h", "e"], ["\u0120t", "he"]]}}
    put("fuzz_tokenizer_json", "byte_level_bpe", json.dumps(byte_level, ensure_ascii=False))
    # llama2.c tokenizer.bin: max_token_length, then (score, length, bytes) per token; 3 specials, 256 bytes, merges.
    pieces = [(0.0, b"<unk>"), (0.0, b"\n<s>\n"), (0.0, b"\n</s>\n")]
    pieces += [(0.0, b"<0x%02X>" % b) for b in range(256)]
    pieces += [(-1.0, b" "), (-2.0, b"e"), (-3.0, b"t"), (-4.0, b" t"), (-5.0, b"he"), (-6.0, b" the"), (-7.0, b"\xc3\xa9")]
    blob = struct.pack("<i", 16) + b"".join(struct.pack("<fi", s, len(p)) + p for s, p in pieces)
    put("fuzz_llama2c_tokenizer", "tok266", blob)


def llama2c_seeds():
    # dim 8, hidden 16, 1 layer, 2 heads, 1 kv head, vocab 4 (negative: own classifier), seq 4; payload as float32.
    dim, hidden, layers, heads, kv, vocab, seq = 8, 16, 1, 2, 1, 4, 4
    head_dim, kv_dim = dim // heads, dim // heads * kv
    floats = vocab * dim + layers * dim + 2 * layers * dim * dim + 2 * layers * dim * kv_dim + layers * dim
    floats += 3 * layers * dim * hidden + dim + seq * head_dim + vocab * dim
    put("fuzz_llama2c", "tiny_unshared", struct.pack("<7i", dim, hidden, layers, heads, kv, -vocab, seq) + b"\0" * 4 * floats)
    put("fuzz_llama2c", "header_only", struct.pack("<7i", 288, 768, 6, 6, 6, 32000, 256) + struct.pack("<q", 60816028))


def gguf_string(text):
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf(metadata, tensors):
    """A GGUF v3 file by hand (ggml docs/gguf.md): metadata as (key, type, packed value); tensors as (name, dims
    innermost first, ggml type, raw bytes), each at a 32-byte aligned offset."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, value_type, value in metadata:
        out += gguf_string(key) + struct.pack("<I", value_type) + value
    offset, data = 0, b""
    for name, dims, ggml_type, raw in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ggml_type, offset)
        data += raw + b"\0" * ((32 - len(raw) % 32) % 32)
        offset = len(data)
    out += b"\0" * ((32 - len(out) % 32) % 32)
    return out + data


def gguf_seeds():
    # A one-block "llama" model (hidden 32, 2 heads, mlp 32, vocab 260: SentencePiece with the 256 byte tokens).
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + ["\u2581", "\u2581the"]
    strings = lambda values: struct.pack("<IQ", 8, len(values)) + b"".join(gguf_string(v) for v in values)
    floats = lambda values: struct.pack("<IQ", 6, len(values)) + b"".join(struct.pack("<f", v) for v in values)
    ints = lambda values: struct.pack("<IQ", 5, len(values)) + b"".join(struct.pack("<i", v) for v in values)
    u32 = lambda v: struct.pack("<I", v)
    metadata = [("general.architecture", 8, gguf_string("llama")), ("llama.context_length", 4, u32(64)),
                ("llama.embedding_length", 4, u32(32)), ("llama.block_count", 4, u32(1)),
                ("llama.feed_forward_length", 4, u32(32)), ("llama.attention.head_count", 4, u32(2)),
                ("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5)),
                ("tokenizer.ggml.model", 8, gguf_string("llama")), ("tokenizer.ggml.tokens", 9, strings(tokens)),
                ("tokenizer.ggml.scores", 9, floats([0.0] * 259 + [-1.0, -2.0])),
                ("tokenizer.ggml.token_type", 9, ints([2, 3, 3] + [6] * 256 + [1, 1])),
                ("tokenizer.ggml.bos_token_id", 4, u32(1)), ("tokenizer.ggml.eos_token_id", 4, u32(2))]
    f32 = lambda count: struct.pack("<%df" % count, *[0.01 * (i % 7) for i in range(count)])
    q8 = lambda count: (struct.pack("<e", 0.01) + bytes(range(32))) * (count // 32)
    tensors = [("token_embd.weight", [32, 261], 8, q8(32 * 261)), ("output_norm.weight", [32], 0, f32(32))]
    for name, dims in [("attn_norm", [32]), ("ffn_norm", [32]), ("attn_q", [32, 32]), ("attn_k", [32, 32]),
                       ("attn_v", [32, 32]), ("attn_output", [32, 32]), ("ffn_gate", [32, 32]), ("ffn_up", [32, 32]),
                       ("ffn_down", [32, 32])]:
        count = dims[0] * (dims[1] if len(dims) > 1 else 1)
        tensors.append(("blk.0.%s.weight" % name, dims, 1 if len(dims) > 1 else 0,
                        struct.pack("<%de" % count, *[0.01] * count) if len(dims) > 1 else f32(count)))
    put("fuzz_gguf", "llama_one_block", gguf(metadata, tensors))


def task_seeds():
    arc = [{"query": "Question: Which is a liquid?", "choices": ["rock", "water", "ice", "wood"], "gold": 1},
           {"query": "Passage: Sky.\nQuestion: is the sky blue", "choices": ["no", "yes"], "gold": 1},
           {"query": "The man broke his toe, because", "choices": ["He dropped a hammer.", "He ran."], "gold": 0}]
    put("fuzz_task_jsonl", "query_choices", "\n".join(json.dumps(r) for r in arc) + "\n")
    wino = [{"context_options": ["Sarah was a better cook than Maria so Sarah", "Sarah was a better cook than Maria so Maria"],
             "continuation": "made the dinner.", "gold": 0}]
    put("fuzz_task_jsonl", "winogrande", "\n".join(json.dumps(r) for r in wino) + "\n")
    lambada = [{"context": "He picked up the ball and threw it to his", "continuation": "dog"}]
    put("fuzz_task_jsonl", "lambada", "\n".join(json.dumps(r) for r in lambada) + "\n")
    put("fuzz_mmlu_csv", "subject", 'question,choice0,choice1,choice2,choice3,answer\n'
        '"Find the degree, for ""Q""",0,4,2,6,1\nWhat is 2+2?,3,4,"5\n6",7,1\n')
    text = "Roof shingle removal: A man is sitting on a roof. he\n3\nis using wrap.\nis ripping level tiles off.\n" \
           "is holding a rubik's cube.\nstarts pulling up roofing on a roof.\n"
    put("fuzz_hellaswag", "two_tasks_text", text * 2)  # the harness bzip2s its input itself
    put("fuzz_hellaswag", "one_task_bz2", bz2.compress(text.encode()))


def profile_and_record_seeds():
    options = [{"rate": 0.0, "ks": 0.0, "atoms": 0, "nonzeros": 0, "kept_words": 4096.0, "error": 0.0},
               {"rate": 0.2, "ks": 1.0, "atoms": 25, "nonzeros": 25, "kept_words": 3200.0, "error": 0.31},
               {"rate": 0.4, "ks": 2.0, "atoms": 40, "nonzeros": 20, "kept_words": 2400.0, "error": 0.52}]
    profile = {"format": "lmshrink-rocket-profile", "version": 1, "accounting": "full", "importance_exponent": 0.5,
               "oversparsify": 0.005, "grid": {"rates": [0.2, 0.4], "ks": [1.0, 2.0]},
               "matrices": [{"name": "model.layers.0.self_attn.q_proj", "in_features": 64, "out_features": 64,
                             "dense_words": 4096.0, "options": options}]}
    put("fuzz_rocket_profile", "one_matrix", json.dumps(profile, indent=1))
    run = {"command": "compress", "method": "rocket", "ratio_requested": 0.3, "output": "/m/out",
           "rocket": {"alloc": "mckp"}, "seconds": {"calibration": 1.5, "decomposition": 3.0},
           "layers": [{"name": "model.layers.0.mlp.down_proj", "ratio": 0.25, "ks": 1.5},
                      {"name": "model.layers.1.mlp.down_proj", "ratio": 0.35, "ks": 1.0}],
           "whole_model": {"ratio": 0.2, "parameters": 1000, "bytes": 2000}}
    evals = {"command": "eval", "model": "/m/out", "perplexity": {"wikitext2": {"ppl": 12.5, "tokens": 1000}},
             "tasks": {"piqa": {"acc": 0.6, "acc_norm": 0.62, "headline": "acc_norm"}}}
    dense = dict(evals, model="/m/dense")
    put("fuzz_run_record", "run_and_eval", json.dumps(run) + "\n\n" + json.dumps(evals))
    put("fuzz_run_record", "dense_eval", json.dumps(dense))


if __name__ == "__main__":
    safetensors_seeds()
    config_seeds()
    tokenizer_seeds()
    llama2c_seeds()
    gguf_seeds()
    task_seeds()
    profile_and_record_seeds()
