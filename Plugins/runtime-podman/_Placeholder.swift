// Temporary: keeps the package building until this plugin's sources land.
