// GPT-2's byte-to-unicode map (openai/gpt-2 encoder.py bytes_to_unicode), used by byte-level BPE
// (GPT-2, Llama-3, Qwen): the 188 printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
// themselves, the other 68 map to U+0100, U+0101, ... in byte order. Vocabularies spell every token
// in these characters, so a space is 'Ġ' (U+0120) and a newline 'Ċ' (U+010A).
#pragma once
#include <string>
#include <string_view>

namespace lmshrink::byte_level {

// Appends, for every byte of raw, the UTF-8 of the character it maps to.
void append_mapped(std::string_view raw, std::string& out);

// Appends the bytes that the mapped characters of token stand for. Returns false, appending nothing,
// when a character of token is outside the map (an added token such as "<|im_start|>" is fine: its
// ASCII characters map to themselves).
bool append_unmapped(std::string_view token, std::string& out);

}  // namespace lmshrink::byte_level
