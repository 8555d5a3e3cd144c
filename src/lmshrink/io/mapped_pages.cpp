// The registry of file mappings whose pages streaming work releases (see mapped_pages.h).
#include "lmshrink/io/mapped_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <mutex>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

std::mutex& registry_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<const void*, size_t>& registry() {
  static std::map<const void*, size_t> mappings;  // start address -> bytes
  return mappings;
}

}  // namespace

void register_mapping(const void* address, size_t bytes) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[address] = bytes;
}

void unregister_mapping(const void* address) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry().erase(address);
}

bool is_mapped(const void* address) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto after = registry().upper_bound(address);
  if (after == registry().begin()) return false;
  --after;
  const char* start = static_cast<const char*>(after->first);
  return static_cast<const char*>(address) < start + after->second;
}

int64_t release_mapped_pages() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  int64_t advised = 0;
  for (const auto& [address, bytes] : registry()) {
    if (::madvise(const_cast<void*>(address), bytes, MADV_DONTNEED) == 0) advised += static_cast<int64_t>(bytes);
  }
  return advised;
}

void release_mapped_range(const void* address, size_t bytes) {
  if (bytes == 0 || !is_mapped(address) || !is_mapped(static_cast<const char*>(address) + bytes - 1)) return;
  uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(address) + page - 1) / page * page;
  uintptr_t end = (reinterpret_cast<uintptr_t>(address) + bytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

int64_t mapped_resident_bytes() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  int64_t resident = 0;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2 && line.find(':') > line.find(' ')) {
      inside = registry().count(reinterpret_cast<const void*>(begin)) > 0;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      resident += std::stoll(line.substr(4)) * 1024;  // "Rss:   1234 kB"
    }
  }
  return resident;
}

MappedFile::~MappedFile() {
  if (address != nullptr) {
    unregister_mapping(address);
    munmap(const_cast<uint8_t*>(address), static_cast<size_t>(bytes));
  }
}

std::shared_ptr<MappedFile> map_file(const std::string& path, const std::string& what) {
  auto mapping = std::make_shared<MappedFile>();
  int fd = ::open(path.c_str(), O_RDONLY);
  LMSHRINK_CHECK(fd >= 0, path, ": cannot open ", what);
  struct stat st {};
  ::fstat(fd, &st);
  void* address = MAP_FAILED;
  if (st.st_size > 0) address = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (st.st_size == 0) return mapping;
  LMSHRINK_CHECK(address != MAP_FAILED, path, ": cannot map ", what);
  mapping->address = static_cast<const uint8_t*>(address);
  mapping->bytes = st.st_size;
  register_mapping(address, static_cast<size_t>(st.st_size));  // streaming work drops its pages
  return mapping;
}

}  // namespace lmshrink
