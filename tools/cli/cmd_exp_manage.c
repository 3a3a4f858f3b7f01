/* placeholder: being written */
#include "cli.h"
int cmd_exp_apply(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
int cmd_exp_branch(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
int cmd_exp_gc(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
int cmd_exp_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
int cmd_exp_remove(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("not implemented yet");
}
