/* Everything a user of nDPI includes: ndpi_api.h pulls in ndpi_main.h, typedefs and defines. */
#include <ndpi_api.h>
