-- q: started_after:"0001-01-01T00:00:00Z" model:x
`model` = :p1
-- params: ['x']
