using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orchestrator.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Pipelines : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "pipeline_node_runs",
                columns: table => new
                {
                    pipeline_run_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    node_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    idempotency_key = table.Column<string>(type: "TEXT", maxLength: 120, nullable: false),
                    started_at = table.Column<long>(type: "INTEGER", nullable: true),
                    finished_at = table.Column<long>(type: "INTEGER", nullable: true),
                    output = table.Column<string>(type: "TEXT", nullable: true),
                    error = table.Column<string>(type: "TEXT", nullable: true),
                    node = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    child_run_id = table.Column<Guid>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pipeline_node_runs", x => new { x.pipeline_run_id, x.node_id });
                });

            migrationBuilder.CreateTable(
                name: "pipeline_runs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    pipeline_id = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    version = table.Column<int>(type: "INTEGER", nullable: false),
                    project_id = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    triggered_by = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    ledger_run_id = table.Column<Guid>(type: "TEXT", nullable: true),
                    parent_run_id = table.Column<Guid>(type: "TEXT", nullable: true),
                    parent_node_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    inputs = table.Column<string>(type: "TEXT", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    started_at = table.Column<long>(type: "INTEGER", nullable: true),
                    finished_at = table.Column<long>(type: "INTEGER", nullable: true),
                    node = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    fire_instance_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    cancel_requested = table.Column<bool>(type: "INTEGER", nullable: false),
                    error = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pipeline_runs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "pipeline_versions",
                columns: table => new
                {
                    pipeline_id = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    version = table.Column<int>(type: "INTEGER", nullable: false),
                    definition = table.Column<string>(type: "TEXT", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pipeline_versions", x => new { x.pipeline_id, x.version });
                });

            migrationBuilder.CreateTable(
                name: "pipelines",
                columns: table => new
                {
                    id = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    project_id = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    description = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    version = table.Column<int>(type: "INTEGER", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    updated_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pipelines", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_pipeline_runs_pipeline_created",
                table: "pipeline_runs",
                columns: new[] { "pipeline_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ux_pipeline_runs_ledger_run",
                table: "pipeline_runs",
                column: "ledger_run_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ux_pipeline_runs_parent_node",
                table: "pipeline_runs",
                columns: new[] { "parent_run_id", "parent_node_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_pipelines_project",
                table: "pipelines",
                column: "project_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "pipeline_node_runs");

            migrationBuilder.DropTable(
                name: "pipeline_runs");

            migrationBuilder.DropTable(
                name: "pipeline_versions");

            migrationBuilder.DropTable(
                name: "pipelines");
        }
    }
}
