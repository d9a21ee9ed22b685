using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orchestrator.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AgentSteps : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "agent_steps",
                table: "runs",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "input_tokens",
                table: "runs",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "output_tokens",
                table: "runs",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "total_tokens",
                table: "runs",
                type: "bigint",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "agent_steps",
                columns: table => new
                {
                    run_key = table.Column<string>(type: "character varying(120)", maxLength: 120, nullable: false),
                    number = table.Column<int>(type: "integer", nullable: false),
                    run_id = table.Column<Guid>(type: "uuid", nullable: false),
                    project_id = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    tool_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    attempt = table.Column<int>(type: "integer", nullable: false),
                    idempotency_key = table.Column<string>(type: "character varying(160)", maxLength: 160, nullable: false),
                    input_tokens = table.Column<long>(type: "bigint", nullable: true),
                    output_tokens = table.Column<long>(type: "bigint", nullable: true),
                    total_tokens = table.Column<long>(type: "bigint", nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    error = table.Column<string>(type: "text", nullable: true),
                    content = table.Column<string>(type: "text", nullable: true),
                    closed = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_agent_steps", x => new { x.run_key, x.number });
                });

            migrationBuilder.CreateIndex(
                name: "ix_agent_steps_project_started",
                table: "agent_steps",
                columns: new[] { "project_id", "started_at" });

            migrationBuilder.CreateIndex(
                name: "ix_agent_steps_run",
                table: "agent_steps",
                column: "run_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "agent_steps");

            migrationBuilder.DropColumn(
                name: "agent_steps",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "input_tokens",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "output_tokens",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "total_tokens",
                table: "runs");
        }
    }
}
