// Umbrella header of the fastaug C++ API.
#pragma once
#include "fastaug/config.hpp"
#include "fastaug/dlpack.hpp"
#include "fastaug/image_view.hpp"
#include "fastaug/ops.hpp"
#include "fastaug/pipeline.hpp"
#include "fastaug/types.hpp"
