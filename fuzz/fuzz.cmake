# libFuzzer harnesses of the readers (issue 21), included by CMakeLists.txt when LMSHRINK_FUZZ is ON. Only the
# parser sources are built (they do not need libtorch), with clang's -fsanitize=fuzzer,address,undefined.
# scripts/fuzz.sh configures build-fuzz/ with CXX=clang++ and runs every harness on its corpus.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "LMSHRINK_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
endif()
find_package(nlohmann_json REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
find_package(BZip2 REQUIRED)

set(LMSHRINK_PARSER_SOURCES
  src/lmshrink/util/read_file.cpp
  src/lmshrink/io/safetensors_header.cpp
  src/lmshrink/io/gguf_header.cpp
  src/lmshrink/io/gguf_tokenizer.cpp
  src/lmshrink/io/mapped_pages.cpp
  src/lmshrink/io/hf_config.cpp
  src/lmshrink/model/config.cpp
  src/lmshrink/io/llama2c_header.cpp
  src/lmshrink/eval/task_readers.cpp
  src/lmshrink/eval/task_hellaswag.cpp
  src/lmshrink/eval/task_mmlu.cpp
  src/lmshrink/eval/task_registry.cpp
  src/lmshrink/eval/report.cpp
  src/lmshrink/eval/report_render.cpp
  src/lmshrink/eval/svg_chart.cpp
  src/lmshrink/compress/rocket_profile_format.cpp)
file(GLOB LMSHRINK_TOKENIZER_SOURCES CONFIGURE_DEPENDS src/lmshrink/tokenizer/*.cpp)
add_library(lmshrink_parsers STATIC ${LMSHRINK_PARSER_SOURCES} ${LMSHRINK_TOKENIZER_SOURCES})
target_include_directories(lmshrink_parsers PUBLIC src)
target_compile_options(lmshrink_parsers PUBLIC -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
  -fno-omit-frame-pointer -g)
target_link_libraries(lmshrink_parsers PUBLIC nlohmann_json::nlohmann_json PkgConfig::PCRE2 PkgConfig::UTF8PROC BZip2::BZip2)

set(LMSHRINK_FUZZERS fuzz_safetensors fuzz_safetensors_index fuzz_hf_config fuzz_tokenizer_json fuzz_llama2c
    fuzz_llama2c_tokenizer fuzz_gguf fuzz_task_jsonl fuzz_mmlu_csv fuzz_hellaswag fuzz_rocket_profile fuzz_run_record)
foreach(harness ${LMSHRINK_FUZZERS})
  add_executable(${harness} fuzz/${harness}.cpp)
  target_link_libraries(${harness} PRIVATE lmshrink_parsers)
  target_link_options(${harness} PRIVATE -fsanitize=fuzzer,address,undefined)
endforeach()
