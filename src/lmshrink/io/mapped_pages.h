// Pages of memory-mapped checkpoint files (safetensors.h maps every file copy-on-write and read-only in use).
// A weight read from a mapping stays resident (it counts in the process's RSS) until the mapping is told to drop it;
// streaming work (DESIGN.md "Scale": one block resident) calls release_mapped_pages() when it moves past a block, so
// peak memory does not grow with depth. Dropping is safe because nothing writes into a mapped weight (healing trains
// copies of the factors: compress/heal.cpp): the next read faults the same bytes back in from the page cache. Only registered file mappings are ever advised;
// heap memory is never touched.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace lmshrink {

void register_mapping(const void* address, size_t bytes);
void unregister_mapping(const void* address);

// Whether the address lies inside a registered mapping (a tensor viewing a checkpoint file).
bool is_mapped(const void* address);

// madvise(MADV_DONTNEED) over every registered mapping. Returns the bytes advised.
int64_t release_mapped_pages();

// madvise(MADV_DONTNEED) over the whole pages of [address, address + bytes) when the range lies in a registered mapping
// (the load-time finite check releases each tensor it scanned); a no-op otherwise.
void release_mapped_range(const void* address, size_t bytes);

// Bytes of the registered mappings resident in this process's page tables now (/proc/self/smaps Rss), for tests.
int64_t mapped_resident_bytes();

// A whole file mapped copy-on-write and registered (the checkpoint readers' mapping): tensors viewing it hold a
// shared_ptr so the mapping outlives them. An empty file has a null address.
struct MappedFile {
  const uint8_t* address = nullptr;
  int64_t bytes = 0;
  ~MappedFile();
};

// Maps path; throws lmshrink::Error naming it ("cannot open <what>") when it cannot be opened or mapped.
std::shared_ptr<MappedFile> map_file(const std::string& path, const std::string& what);

}  // namespace lmshrink
