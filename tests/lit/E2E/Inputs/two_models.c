/* Two models archived in two parts each (large models compile on two threads)
   link into one program: their hidden symbols carry their names. */
#include "gpt.h"
#include "transformer.h"
#include <stdio.h>
#include <string.h>
int main(void) { printf("%zu %zu\n", strlen(gpt_kiln_manifest()), strlen(transformer_kiln_manifest())); return 0; }
