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

#include <vhu-config.h>
#include "log.h"

#include <stdio.h>

static void
vhu_log_stderr(enum vhu_log_level level, const char *format, va_list args)
{
    if (level <= VHU_LOG_WARN) {
        fputs(level == VHU_LOG_ERR ? "vhost-engine: error: "
                                   : "vhost-engine: warning: ", stderr);
        vfprintf(stderr, format, args);
        putc('\n', stderr);
    }
}

static vhu_log_fn *log_hook = vhu_log_stderr;

void
vhu_set_log_hook(vhu_log_fn *hook)
{
    log_hook = hook ? hook : vhu_log_stderr;
}

void
vhu_log(enum vhu_log_level level, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    log_hook(level, format, args);
    va_end(args);
}
