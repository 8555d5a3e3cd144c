// Precompiled header shared by every lmshrink target: libtorch is the heavy part.
#pragma once
#include <torch/torch.h>
#include <cstdint>
#include <string>
#include <vector>
#include <memory>
