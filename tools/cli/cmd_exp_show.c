/* placeholder: being written */
#include "cli.h"
int cmd_exp_show(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
