CREATE TABLE `usage` (
	`tenant_id` text NOT NULL,
	`month` text NOT NULL,
	`event` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `month`, `event`)
);
