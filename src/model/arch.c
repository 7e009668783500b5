/*
 * arch.c - the registry of architectures by general.architecture name.
 */
#include <string.h>

#include "model/model.h"

extern const hone_arch hone_arch_llama;

static const hone_arch *const ARCHS[] = {&hone_arch_llama};

const hone_arch *hone_arch_find(const char *name) {
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (strcmp(ARCHS[i]->name, name) == 0) return ARCHS[i];
    return NULL;
}
