// Calibration corpora: reads a text corpus into documents, from a file or a named preset of the
// read-only ../shared/data folder (data/README.md). Formats, chosen by content and extension:
//   - JSONL (.jsonl): one JSON object per line, the document is its "text" field;
//   - story files: documents separated by lines that are exactly "<|endoftext|>" (TinyStories);
//   - anything else: raw text, the whole file is one document (WikiText-2 raw, PTB).
// Presets (resolved under data_dir, default ../shared/data beside the checkout):
//   c4-train      -> c4/c4-train-head.jsonl        (1041 docs)
//   c4-validation -> c4/c4-validation-head.jsonl   (1025 docs)
//   wikitext2     -> wikitext2/wiki.test.raw       (the TEST split: no WikiText-2 train split is
//                    stored here, so SVD-LLM's train-split calibration (ALGORITHMS.md §1.2) cannot be
//                    reproduced exactly; calibrating on it and evaluating on it overlap)
//   tinystories   -> tinystories/tinystories-valid-calib.txt (1258 stories)
//   ptb           -> ptb/ptb.valid.txt
// Empty documents are dropped; a corpus with no non-empty document is an Error.
#pragma once
#include <string>
#include <vector>

namespace lmshrink {

// The folder of the presets when none is given: LMSHRINK_DATA_DIR if set, else "../shared/data".
std::string default_calib_data_dir();

// The file a preset names under data_dir, or "" when name is not a preset.
std::string corpus_preset_path(const std::string& name, const std::string& data_dir);

// Documents of a preset name or a file path. Throws lmshrink::Error naming the file on a missing
// file, a malformed JSONL line (with its line number) or a corpus with no non-empty document.
std::vector<std::string> read_corpus(const std::string& preset_or_path, const std::string& data_dir = "");

}  // namespace lmshrink
