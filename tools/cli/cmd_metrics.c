/* placeholder: being written */
#include "cli.h"
int cmd_metrics_show(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
int cmd_metrics_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
int cmd_params_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
