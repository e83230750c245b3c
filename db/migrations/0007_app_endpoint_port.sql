ALTER TABLE "apps" ADD COLUMN "endpoint_port" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "apps_endpoint_port" ON "apps" USING btree ("endpoint_port");