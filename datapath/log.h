/*
 * Copyright (c) 2026 The ovs-vhostuser authors.
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at:
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

#ifndef VHU_LOG_H
#define VHU_LOG_H 1

/* The engine's internal logging, through the hook set with
 * vhu_set_log_hook(). */

#include "vhost-engine.h"

void vhu_log(enum vhu_log_level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#define VHU_ERR(...)  vhu_log(VHU_LOG_ERR, __VA_ARGS__)
#define VHU_WARN(...) vhu_log(VHU_LOG_WARN, __VA_ARGS__)
#define VHU_INFO(...) vhu_log(VHU_LOG_INFO, __VA_ARGS__)
#define VHU_DBG(...)  vhu_log(VHU_LOG_DBG, __VA_ARGS__)

#endif /* log.h */
